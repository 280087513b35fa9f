"""JSON: one array of objects, as in ``examples/data.json``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._errors import unreadable

__all__ = ["Writer", "read"]

WHAT = "JSON (one array of objects)"


def read(path: Path) -> pl.DataFrame:
    """Read the whole array into a frame; every key becomes a column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, WHAT, exc) from exc
    head = data.lstrip()[:1]
    if head != b"[":
        found = (
            "an empty file"
            if not head
            else f"a document starting with {head.decode(errors='replace')!r}"
        )
        raise unreadable(path, WHAT, f"found {found}")
    try:
        frame = pl.read_json(io.BytesIO(data), infer_schema_length=None)
    except Exception as exc:  # polars raises several kinds for malformed JSON
        raise unreadable(path, WHAT, exc) from exc
    return frame


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
