"""Parquet, read in record batches of only the columns asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vecloss.io._errors import fit_schema, reading

__all__ = ["Writer", "iter_batches", "read", "read_metadata", "read_schema"]

WHAT = "Parquet"


def _open(path: Path, *, pre_buffer: bool = True) -> pq.ParquetFile:
    with reading(path, WHAT):
        return pq.ParquetFile(path, pre_buffer=pre_buffer)


def read_schema(path: Path) -> pa.Schema:
    """The file's Arrow schema, from its footer."""
    return _open(path).schema_arrow


def read_metadata(path: Path) -> pq.FileMetaData:
    """The file's footer: row count, row groups, schema."""
    return _open(path).metadata


def _present(names: Sequence[str], columns: Sequence[str] | None) -> list[str] | None:
    return None if columns is None else [c for c in columns if c in names]


def read(path: Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read the file (or only ``columns``, those of them it has)."""
    file = _open(path)
    with reading(path, WHAT):
        table = file.read(columns=_present(file.schema_arrow.names, columns))
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def iter_batches(
    path: Path,
    *,
    batch_rows: int,
    columns: Sequence[str] | None = None,
    row_groups: Sequence[int] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield frames of at most ``batch_rows`` rows (of ``row_groups`` only, if given).

    Only the columns asked for are decoded, and with ``pre_buffer=False`` a
    row group's column chunks are read as they are needed: memory stays
    bounded by the batch, whatever the file's size.
    """
    file = _open(path, pre_buffer=False)
    names = _present(file.schema_arrow.names, columns)
    empty = True
    with reading(path, WHAT):
        batches = file.iter_batches(batch_size=batch_rows, columns=names, row_groups=row_groups)
        for batch in batches:
            empty = False
            yield pl.DataFrame(pl.from_arrow(batch))
        if empty:
            schema = file.schema_arrow
            yield pl.DataFrame(pl.from_arrow(schema.empty_table().select(names or schema.names)))


class Writer:
    """Write frames as row groups of one Parquet file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            # Dictionary-encode text only: ids and losses are unique, and trying a
            # dictionary on them first more than doubles the writing time.
            text = [
                f.name
                for f in table.schema
                if pa.types.is_string(f.type)
                or pa.types.is_large_string(f.type)
                or pa.types.is_string_view(f.type)
            ]
            self._writer = pq.ParquetWriter(self._path, table.schema, use_dictionary=text)
        self._writer.write_table(fit_schema(table, self._writer.schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
