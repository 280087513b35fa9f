"""Parquet, read in slices of only the columns asked for; written a row group per batch."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from vecloss.exceptions import InputError
from vecloss.io._errors import fit_schema, os_error, reading
from vecloss.schema import ID

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["Writer", "iter_batches", "read", "read_metadata", "read_schema", "row_ranges"]

WHAT = "Parquet"


def _open(path: Path) -> pq.ParquetFile:
    import pyarrow.parquet as pq  # (loaded on first use: 15 ms less at start-up)

    with reading(path, WHAT):
        return pq.ParquetFile(path, page_checksum_verification=True)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def has_page_checksums(path: Path, metadata: pq.FileMetaData) -> bool:
    """Whether the file's pages carry CRC checksums (Spark and parquet-mr write them; pyarrow
    and Polars do not by default): the ``crc`` field (4) of the first page header, read from
    its Thrift compact encoding (fields 1-3 are the page type and sizes, all i32)."""
    if metadata.num_row_groups == 0 or metadata.num_columns == 0:
        return False
    column = metadata.row_group(0).column(0)
    offsets = [column.data_page_offset]
    if column.has_dictionary_page and column.dictionary_page_offset:
        offsets.append(column.dictionary_page_offset)
    with reading(path, WHAT), path.open("rb") as file:
        file.seek(min(offsets))
        header = file.read(64)
    field, at = 0, 0
    try:
        for _ in range(4):
            kind = header[at]
            at += 1
            delta = kind >> 4
            field = field + delta if delta else field
            if field == 4:
                return True
            if field > 4 or (kind & 0x0F) != 5:  # past the crc, or not an i32: no crc
                return False
            _, at = _varint(header, at)
    except IndexError:
        return False
    return False


def read_schema(path: Path) -> pa.Schema:
    """The file's Arrow schema, from its footer."""
    return _open(path).schema_arrow


def read_metadata(path: Path) -> pq.FileMetaData:
    """The file's footer: row count, row groups, schema."""
    return _open(path).metadata


def _present(names: Sequence[str], columns: Sequence[str] | None) -> list[str] | None:
    return None if columns is None else [c for c in columns if c in names]


def _no_range_index_ids(
    path: Path, metadata: pq.FileMetaData, columns: Sequence[str] | None
) -> None:
    """Refuse a file whose building ids pandas kept only in its metadata, when they are asked
    for (``columns``, None for all): a frame indexed by ids that count up by a fixed step (a
    ``RangeIndex``) is written without them as a column, and the file would otherwise be
    "missing column buildingId" with no word of why."""
    if columns is not None and ID not in columns:
        return
    if ID in metadata.schema.names or b"pandas" not in (metadata.metadata or {}):
        return
    import json

    try:
        index = json.loads(metadata.metadata[b"pandas"]).get("index_columns", [])
    except ValueError:
        return
    for kept in index:
        if isinstance(kept, dict) and kept.get("kind") == "range" and kept.get("name") == ID:
            start, stop, step = (kept.get(k) for k in ("start", "stop", "step"))
            span = ""
            if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int):
                span = f", {start} to {stop - step}"
            msg = (
                f"{path}: {ID} is not a column of the file: pandas wrote it as the frame's index "
                f"(a RangeIndex{span}), which it keeps only as metadata; "
                "hint: write it with df.to_parquet(path, index=True), or "
                "df.reset_index().to_parquet(path)"
            )
            raise InputError(msg)


def read(path: Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read the file (or only ``columns``, those of them it has)."""
    file = _open(path)
    _no_range_index_ids(path, file.metadata, columns)
    with reading(path, WHAT):
        table = file.read(columns=_present(file.schema_arrow.names, columns))
    return pl.DataFrame(pl.from_arrow(table))


def row_ranges(
    metadata: pq.FileMetaData, row_groups: Sequence[int] | None
) -> list[tuple[int, int]]:
    """``(first row, rows)`` of each run of adjacent row groups among ``row_groups`` (or all)."""
    starts = [0]
    for i in range(metadata.num_row_groups):
        starts.append(starts[-1] + metadata.row_group(i).num_rows)
    ranges: list[tuple[int, int]] = []
    for i in range(metadata.num_row_groups) if row_groups is None else row_groups:
        rows = starts[i + 1] - starts[i]
        if ranges and sum(ranges[-1]) == starts[i]:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + rows)
        elif rows:
            ranges.append((starts[i], rows))
    return ranges


def iter_batches(
    path: Path,
    *,
    batch_rows: int,
    columns: Sequence[str] | None = None,
    row_groups: Sequence[int] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield frames of at most ``batch_rows`` rows (of ``row_groups`` only, if given), in order.

    Only the columns asked for are decoded, by Polars' streaming engine, which
    reads ahead of the caller on its own threads, in order (measured on 10M rows:
    0.21 s, against 0.25 s for slices collected on threads and 0.27 s for
    ``pl.read_parquet``; pyarrow's decoder takes twice the CPU on Snappy pages).
    Memory stays bounded by a few batches, whatever the file's size.
    """
    metadata = read_metadata(path)
    _no_range_index_ids(path, metadata, columns)
    if has_page_checksums(path, metadata):  # pyarrow's reader verifies them; Polars' not
        yield from _verified_batches(path, batch_rows, columns, row_groups)
        return
    ranges = row_ranges(metadata, row_groups)
    with reading(path, WHAT):
        scan = pl.scan_parquet(path)
        if columns is not None:
            scan = scan.select(_present(scan.collect_schema().names(), columns))
        if not ranges:
            yield scan.head(0).collect()
        whole = len(ranges) == 1 and ranges[0] == (0, metadata.num_rows)
        for first, rows in ranges:
            part = scan if whole else scan.slice(first, rows)
            yield from part.collect_batches(chunk_size=batch_rows)


def _verified_batches(
    path: Path, batch_rows: int, columns: Sequence[str] | None, row_groups: Sequence[int] | None
) -> Iterator[pl.DataFrame]:
    """Batches decoded by pyarrow with every page's CRC checked: a corrupt page is an error."""
    file = _open(path)
    picked = _present(file.schema_arrow.names, columns)
    groups = list(range(file.metadata.num_row_groups)) if row_groups is None else row_groups
    with reading(path, WHAT):
        empty = True
        for batch in file.iter_batches(batch_size=batch_rows, row_groups=groups, columns=picked):
            empty = False
            yield pl.DataFrame(pl.from_arrow(batch))
        if empty:
            yield pl.DataFrame(pl.from_arrow(file.schema_arrow.empty_table())).select(
                picked if picked is not None else file.schema_arrow.names
            )


class Writer:
    """Write frames as one Parquet file (Snappy), streamed through Polars' own writer.

    The frames are handed, as they come, to a Polars query on a thread that sinks
    them into the file (an IO source over a queue: memory stays bounded by two
    batches). Polars' writer takes half the time of pyarrow's on ids and losses
    (measured on 10M rows in 500,000-row batches: 0.21 s against 0.42 s). Each
    batch is cast to the first one's columns, or refused clearly if it cannot be.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._schema: pl.Schema | None = None
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _sink(self, schema: pl.Schema) -> None:
        from polars.io.plugins import register_io_source

        def frames(*_: object) -> Iterator[pl.DataFrame]:
            while (frame := self._queue.get()) is not None:
                yield frame

        try:
            register_io_source(frames, schema=schema).sink_parquet(self._path, compression="snappy")
        except BaseException as exc:  # handed to the caller by write() or close()
            # (nothing waits for the queue: _put gives up within 0.1 s once this is set; a
            # loop here until the end marker hung when the last flush failed, e.g. on a full
            # disk, after the marker had been taken)
            self._error = os_error(exc, self._path)

    def _put(self, item: pl.DataFrame | None) -> None:
        assert self._thread is not None
        while self._error is None and self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            else:
                return
        if self._error is not None:
            raise self._error

    def write(self, frame: pl.DataFrame) -> None:
        if self._thread is None:
            self._schema = frame.schema
            self._thread = threading.Thread(
                target=self._sink, args=(frame.schema,), name="vecloss-parquet-write", daemon=True
            )
            self._thread.start()
        elif frame.schema != self._schema:
            frame = pl.DataFrame(pl.from_arrow(fit_schema(frame.to_arrow(), _arrow(self._schema))))
        self._put(frame)

    def close(self) -> None:
        if self._thread is None:
            return
        try:
            self._put(None)  # (raises the thread's error, if any)
        finally:
            self._thread.join()
        if self._error is not None:
            raise self._error


def _arrow(schema: pl.Schema | None) -> pa.Schema:
    return pl.DataFrame(schema=schema).to_arrow().schema
