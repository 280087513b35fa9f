"""Parquet, read in record batches of only the columns asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vecloss.io._errors import unreadable

__all__ = ["Writer", "iter_batches", "read"]

WHAT = "Parquet"


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(path, WHAT, exc) from exc


def _present(names: Sequence[str], columns: Sequence[str] | None) -> list[str] | None:
    return None if columns is None else [c for c in columns if c in names]


def read(path: Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read the file (or only ``columns``, those of them it has)."""
    file = _open(path)
    try:
        table = file.read(columns=_present(file.schema_arrow.names, columns))
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(path, WHAT, exc) from exc
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def iter_batches(
    path: Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield frames of at most ``batch_rows`` rows; memory stays bounded."""
    file = _open(path)
    names = _present(file.schema_arrow.names, columns)
    empty = True
    try:
        for batch in file.iter_batches(batch_size=batch_rows, columns=names):
            empty = False
            yield pl.DataFrame(pl.from_arrow(batch))
        if empty:
            yield pl.DataFrame(
                pl.from_arrow(
                    file.schema_arrow.empty_table().select(names or file.schema_arrow.names)
                )
            )
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(path, WHAT, exc) from exc


class Writer:
    """Write frames as row groups of one Parquet file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
