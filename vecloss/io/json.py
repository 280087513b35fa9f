"""JSON: one array of objects, as in ``examples/data.json``."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.io._errors import reading, unreadable

__all__ = ["Writer", "read"]

WHAT = "JSON (one array of objects)"

# NaN and Infinity are not JSON, but Python's json module writes them. Quoted,
# they parse as text and validation reports them as not finite.
_BARE_NONFINITE = re.compile(rb"(?<=[\[:,])(\s*)(-?Infinity|NaN)(?=\s*[,\]\}])")


def read(path: Path) -> pl.DataFrame:
    """Read the whole array into a frame; every key becomes a column."""
    with reading(path, WHAT):
        data = path.read_bytes()
        head = data.lstrip()[:1]
        if head != b"[":
            found = (
                "an empty file"
                if not head
                else f"a document starting with {head.decode(errors='replace')!r}"
            )
            raise unreadable(path, WHAT, f"found {found}")
        try:
            return pl.read_json(io.BytesIO(data), infer_schema_length=None)
        except pl.exceptions.PolarsError as exc:
            if "supertype" in str(exc):
                mixed = "a key holds incompatible kinds of value (say numbers and lists)"
                raise unreadable(path, WHAT, mixed) from exc
            quoted = _BARE_NONFINITE.sub(rb'\1"\2"', data)
            if quoted == data:
                raise
            return pl.read_json(io.BytesIO(quoted), infer_schema_length=None)


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
