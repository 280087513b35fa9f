"""JSON: one array of objects, as in ``examples/data.json``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._stream import stream_array

__all__ = ["Writer", "iter_batches", "read"]

WHAT = "JSON (one array of objects)"


def read(path: Path) -> pl.DataFrame:
    """Read the whole array into a frame; every key becomes a column.

    The array is streamed in blocks (:func:`iter_batches`), whatever its layout;
    types come from the first block (its first 100 objects), and a block where a
    value does not fit them keeps its numeric columns as text (validation then
    names the rows). An object that repeats a schema key is an error.
    """
    frames = list(iter_batches(path, batch_rows=1 << 62))
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def iter_batches(
    path: Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield the array in batches, streamed in bounded memory whatever its layout
    (pretty-printed, one line, one object a line): see :mod:`vecloss.io._array`."""
    yield from stream_array(path, WHAT, batch_rows=batch_rows, columns=columns)


class Writer:
    """Write frames as one JSON array, batch after batch."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")
        self._first = True

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        lines = frame.write_ndjson().rstrip("\n").replace("\n", ",\n")
        self._file.write(b"[\n" if self._first else b",\n")
        self._file.write(lines.encode())
        self._first = False

    def close(self) -> None:
        self._file.write(b"[]\n" if self._first else b"\n]\n")
        self._file.close()
