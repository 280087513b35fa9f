"""Newline-delimited JSON (``.ndjson``, ``.jsonl``): one object per line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._array import BOM
from vecloss.io._errors import reading, unreadable
from vecloss.io._stream import every_key_once, file_colons, stream_line_blocks

__all__ = ["Writer", "file_colons", "iter_batches", "read"]

WHAT = "NDJSON (one JSON object per line)"


def read(path: Path) -> pl.DataFrame:
    """Read every line into a frame, every key a column.

    Polars reads the file whole, with its keys and types from the first 100
    lines, while a thread counts the file's colons. When there are as many
    colons as values and no value is null, every line gave every key once: no
    key was repeated, and none that only a later line gives was dropped. Else
    the file is read again in blocks (:func:`iter_batches`), which name a
    repeated key's row and keep a late key.
    """
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        with path.open("rb") as file:
            marked = file.read(len(BOM)) == BOM  # Polars' reader refuses a byte-order mark
    if marked:
        return _by_blocks(path, pl.DataFrame())
    with reading(path, WHAT), ThreadPoolExecutor(1, thread_name_prefix="vecloss-count") as pool:
        counting = pool.submit(file_colons, path)
        try:  # types from the first 100 lines (fast), or from all when a later one differs
            frame = pl.read_ndjson(path)
        except pl.exceptions.ComputeError:
            frame = pl.read_ndjson(path, infer_schema_length=None)
        colons = counting.result()
    if every_key_once(colons, frame):
        return frame
    return _by_blocks(path, frame)


def _by_blocks(path: Path, empty: pl.DataFrame) -> pl.DataFrame:
    frames = list(iter_batches(path, batch_rows=1 << 62))
    return pl.concat(frames, how="diagonal_relaxed") if frames else empty


def iter_batches(
    path: Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Stream the lines in blocks, in batches of ``batch_rows`` rows: memory stays bounded.

    (Polars' own NDJSON stream, on a value that does not parse, can hand out rows
    out of order before it fails; blocks parsed one by one cannot.)
    """
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
    yield from stream_line_blocks(path, WHAT, batch_rows=batch_rows, columns=columns)


class Writer:
    """Append frames as lines."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_ndjson(self._file)

    def close(self) -> None:
        self._file.close()
