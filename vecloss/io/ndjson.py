"""Newline-delimited JSON (``.ndjson``, ``.jsonl``): one object per line."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._errors import reading, unreadable

__all__ = ["Writer", "read"]

WHAT = "NDJSON (one JSON object per line)"


def read(path: Path) -> pl.DataFrame:
    """Read every line into a frame."""
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        return pl.read_ndjson(path, infer_schema_length=None)


class Writer:
    """Append frames as lines."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_ndjson(self._file)

    def close(self) -> None:
        self._file.close()
