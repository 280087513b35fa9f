"""CSV with a header row."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._errors import reading, unreadable
from vecloss.schema import ID, NUMERIC

__all__ = ["Writer", "read"]

WHAT = "CSV with a header row"


def read(path: Path) -> pl.DataFrame:
    """Read the file; numeric columns as Float64, or as text when a value is not a number.

    The fast path parses the schema's numeric columns straight to Float64. If
    a value does not parse, the file is read again as text so that validation
    can name each bad row instead of failing on the first one.
    """
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        floats = {c.name: pl.Float64 for c in NUMERIC}
        try:
            return pl.read_csv(path, schema_overrides=floats, infer_schema_length=None)
        except pl.exceptions.ComputeError:
            frame = pl.read_csv(path, infer_schema=False)
    if ID in frame.columns:
        ids = frame[ID].cast(pl.Int64, strict=False)
        if ids.null_count() == frame[ID].null_count():
            frame = frame.with_columns(ids)
    return frame


class Writer:
    """Append frames as rows under one header."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._file, include_header=self._header)
        self._header = False

    def close(self) -> None:
        self._file.close()
