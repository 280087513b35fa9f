"""Newline-delimited JSON (``.ndjson``, ``.jsonl``): one object per line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._errors import reading, unreadable
from vecloss.io._stream import stream_line_blocks

__all__ = ["Writer", "iter_batches", "read"]

WHAT = "NDJSON (one JSON object per line)"


def read(path: Path) -> pl.DataFrame:
    """Read every line into a frame."""
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        try:  # types from the first 100 lines (fast), or from all when a later one differs
            return pl.read_ndjson(path)
        except pl.exceptions.ComputeError:
            return pl.read_ndjson(path, infer_schema_length=None)


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
