"""Parquet, read in record batches of only the columns asked for."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vecloss.io._errors import fit_schema, reading

__all__ = ["Writer", "iter_batches", "read", "read_metadata", "read_schema", "row_group_runs"]

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


#: Row-group runs decoded at once, each by Polars on its own thread (the GIL is
#: released): one per core of this two-core target; more only holds more memory.
DECODERS = 2


@cache
def _decoders() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="vecloss-parquet")


def row_group_runs(
    metadata: pq.FileMetaData, row_groups: Sequence[int] | None, batch_rows: int
) -> list[tuple[int, int]] | None:
    """``(first row, rows)`` of runs of whole row groups, each at most ``batch_rows`` rows.

    A row group larger than ``batch_rows`` is a run of its own; one larger than
    twice that gives None: such a file is read in batches of ``batch_rows``.
    """
    starts = [0]
    for i in range(metadata.num_row_groups):
        starts.append(starts[-1] + metadata.row_group(i).num_rows)
    runs: list[tuple[int, int]] = []
    for i in range(metadata.num_row_groups) if row_groups is None else row_groups:
        rows = starts[i + 1] - starts[i]
        if rows > 2 * batch_rows:
            return None
        if runs and sum(runs[-1]) == starts[i] and runs[-1][1] + rows <= batch_rows:
            runs[-1] = (runs[-1][0], runs[-1][1] + rows)
        elif rows:
            runs.append((starts[i], rows))
    return runs


def iter_batches(
    path: Path,
    *,
    batch_rows: int,
    columns: Sequence[str] | None = None,
    row_groups: Sequence[int] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield frames of the file (of ``row_groups`` only, if given), in order.

    Only the columns asked for are decoded. A frame is a run of whole row
    groups of at most ``batch_rows`` rows (or one row group of up to twice
    that); two runs are decoded at once by Polars, whose Parquet decoder is
    2-3x faster than pyarrow's on Snappy pages. Files with larger row groups
    are read by pyarrow in batches of ``batch_rows``, with ``pre_buffer=False``
    so that a row group's column chunks are read as they are needed. Either
    way memory stays bounded by a few batches, whatever the file's size.
    """
    file = _open(path, pre_buffer=False)
    names = _present(file.schema_arrow.names, columns)
    runs = row_group_runs(file.metadata, row_groups, batch_rows)
    empty = True
    with reading(path, WHAT):
        frames = _decode_runs(path, names, runs) if runs is not None else None
        if frames is None:
            batches = file.iter_batches(batch_size=batch_rows, columns=names, row_groups=row_groups)
            frames = (pl.DataFrame(pl.from_arrow(batch)) for batch in batches)
        for frame in frames:
            empty = False
            yield frame
        if empty:
            schema = file.schema_arrow
            yield pl.DataFrame(pl.from_arrow(schema.empty_table().select(names or schema.names)))


def _decode_runs(
    path: Path, names: list[str] | None, runs: list[tuple[int, int]]
) -> Iterator[pl.DataFrame]:
    """Each run as a frame, in order, :data:`DECODERS` runs decoding at once."""
    scan = pl.scan_parquet(path)
    if names is not None:
        scan = scan.select(names)
    pending: deque[Future[pl.DataFrame]] = deque()
    for first, rows in runs:
        pending.append(_decoders().submit(scan.slice(first, rows).collect))
        if len(pending) >= DECODERS:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


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
