"""JSON: one array of objects, as in ``examples/data.json``."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import polars as pl

from vecloss.exceptions import InputError
from vecloss.io._errors import reading, unreadable
from vecloss.io._stream import (
    BARE_NONFINITE,
    SPACE,
    check_keys,
    parse_array_lines,
    slices,
    stream_line_blocks,
)

__all__ = ["Writer", "iter_batches", "read"]

WHAT = "JSON (one array of objects)"


#: Memory a JSON array read whole takes, as a multiple of its size (measured: ~7x).
WHOLE_FACTOR = 7


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``), if known."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def read(path: Path) -> pl.DataFrame:
    """Read the whole array into a frame; every key becomes a column.

    An array written one object per line is parsed as NDJSON (Polars' fastest
    JSON path); other layouts with Polars' JSON reader. Types come from the
    first 100 rows, or from all of them when a later value does not fit. An
    object that repeats a schema key is an error.
    """
    frame, data, lines = _read(path)
    check_keys(data, frame.height, path, first_row=1, lines=lines)
    return frame


def _read(path: Path) -> tuple[pl.DataFrame, bytes | bytearray, bool]:
    with reading(path, WHAT):
        if _one_object_per_line(path):
            body = _read_into_bytearray(path)
            if not body[-4096:].rstrip().endswith(b"]"):
                raise unreadable(path, WHAT, "the array is not closed with ']'")
            body[body.index(b"[")] = body[body.rindex(b"]")] = SPACE  # now NDJSON
            with contextlib.suppress(pl.exceptions.PolarsError):  # else: the general reader
                parsed = parse_array_lines(body, None)
                return (parsed if parsed is not None else pl.DataFrame()), body, True
            del body
        size, free = path.stat().st_size, available_memory()
        if free is not None and size * WHOLE_FACTOR > free:
            msg = (
                f"{path}: this JSON layout is read whole and would need about "
                f"{size * WHOLE_FACTOR / 2**30:.1f} GiB of memory; {free / 2**30:.1f} GiB are "
                "available; hint: write it one object per line (.ndjson, or an array with one "
                "object a line), which streams in bounded memory"
            )
            raise InputError(msg)
        data = path.read_bytes()
        head = data[:4096].lstrip()[:1]  # (a slice: no copy of the whole file)
        if head != b"[":
            found = (
                "an empty file"
                if not head
                else f"a document starting with {head.decode(errors='replace')!r}"
            )
            raise unreadable(path, WHAT, f"found {found}")
        try:
            try:
                return pl.read_json(io.BytesIO(data)), data, False
            except pl.exceptions.ComputeError:
                return pl.read_json(io.BytesIO(data), infer_schema_length=None), data, False
        except pl.exceptions.PolarsError as exc:
            if "supertype" in str(exc):
                mixed = "a key holds incompatible kinds of value (say numbers and lists)"
                raise unreadable(path, WHAT, mixed) from exc
            quoted = BARE_NONFINITE.sub(rb'\1"\2"', data)
            if quoted == data:
                raise
            return pl.read_json(io.BytesIO(quoted), infer_schema_length=None), data, False


def _read_into_bytearray(path: Path) -> bytearray:
    """The file's bytes, writable, read with no intermediate copy."""
    buf = bytearray(path.stat().st_size)
    with path.open("rb", buffering=0) as file, memoryview(buf) as view:
        got = 0
        while got < len(buf) and (n := file.readinto(view[got:])):
            got += n
    del buf[got:]
    return buf


def _one_object_per_line(path: Path) -> bool:
    """Whether the array is written one object per line (as vecloss and most exporters do)."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
    text = head.lstrip()
    if not text.startswith(b"["):
        return False
    lines = [line.strip() for line in text[1:].split(b"\n")[:-1]]
    lines = [line for line in lines if line and line != b"]"]
    return bool(lines) and all(
        line.startswith(b"{") and line.rstrip(b",").endswith(b"}") for line in lines[:8]
    )


def iter_batches(
    path: Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield the array in batches; streamed when it is written one object per line.

    Such a file is read in blocks cut at line ends; each block loses its
    separating commas (and the brackets at the ends) and is parsed as NDJSON
    (:func:`vecloss.io._stream.stream_line_blocks`), so memory stays bounded by
    the block. Any other layout is read whole.
    """
    with reading(path, WHAT):
        streamable = path.stat().st_size > 0 and _one_object_per_line(path)
    if not streamable:
        frame = read(path)
        if columns is not None:
            frame = frame.select([c for c in columns if c in frame.columns])
        yield from slices(frame, batch_rows)
        return
    yield from stream_line_blocks(path, WHAT, batch_rows=batch_rows, columns=columns, array=True)


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
