"""Pick a reader or writer by the path's suffix; iterate a source in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Protocol

import polars as pl

from vecloss.exceptions import InputError, UsageError
from vecloss.io import csv, ipc, json, ndjson, parquet
from vecloss.io.atomic import AtomicPath

__all__ = [
    "SUFFIXES",
    "Output",
    "convert",
    "count_rows",
    "format_of",
    "iter_batches",
    "read_source",
    "source_columns",
]

SUFFIXES: dict[str, ModuleType] = {
    ".json": json,
    ".ndjson": ndjson,
    ".jsonl": ndjson,
    ".csv": csv,
    ".parquet": parquet,
    ".arrow": ipc,
    ".ipc": ipc,
    ".feather": ipc,
}
KNOWN = ", ".join(SUFFIXES)


class Writer(Protocol):
    def write(self, frame: pl.DataFrame) -> None: ...
    def close(self) -> None: ...


def format_of(path: str | Path, *, output: bool = False) -> ModuleType:
    """The format module for ``path``'s suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        msg = f"{path}: unsupported suffix {suffix or '(none)'!r}; hint: use one of {KNOWN}"
        raise UsageError(msg) if output else InputError(msg)
    return SUFFIXES[suffix]


def read_source(source: str | Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read a whole source into a frame, as stored (no validation)."""
    path = Path(source)
    module = format_of(path)
    if not path.exists():
        msg = f"{path}: no such file; hint: check the path"
        raise InputError(msg)
    if hasattr(module, "iter_batches") or module is ipc:
        frame: pl.DataFrame = module.read(path, columns=columns)
        return frame
    frame = module.read(path)
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    return frame


def source_columns(source: str | Path) -> list[str]:
    """Every column name of ``source`` (Parquet and Arrow: from the schema alone)."""
    path = Path(source)
    module = format_of(path)
    if module is parquet:
        return list(parquet.read_schema(path).names)
    return read_source(path).columns


def count_rows(source: str | Path) -> int | None:
    """The number of rows, when the format stores it (Parquet); else None."""
    path = Path(source)
    if format_of(path) is parquet and path.is_file():
        return int(parquet.read_metadata(path).num_rows)
    return None


def iter_batches(
    source: str | Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield the source as frames of at most ``batch_rows`` rows, in order.

    Parquet is streamed; the other formats are read once and sliced.
    """
    path = Path(source)
    module = format_of(path)
    if hasattr(module, "iter_batches"):
        if not path.exists():
            msg = f"{path}: no such file; hint: check the path"
            raise InputError(msg)
        yield from module.iter_batches(path, batch_rows=batch_rows, columns=columns)
        return
    frame = read_source(path, columns=columns)
    if frame.height == 0:
        yield frame
    for start in range(0, frame.height, batch_rows):
        yield frame.slice(start, batch_rows)


class Output:
    """A destination file written batch by batch and renamed into place on success.

    Use as a context manager: on a clean exit the file appears whole; on an
    exception it does not appear, and a file already there is left intact.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self._module = format_of(self.target, output=True)
        self._atomic: AtomicPath | None = None
        self._writer: Writer | None = None

    def __enter__(self) -> Output:
        self._atomic = AtomicPath(self.target)
        self._writer = self._module.Writer(self._atomic.path)
        return self

    def write(self, frame: pl.DataFrame) -> None:
        assert self._writer is not None, "use Output as a context manager"
        self._writer.write(frame)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._atomic is not None
        assert self._writer is not None
        try:
            self._writer.close()
        except BaseException:
            self._atomic.abort()
            raise
        if exc_type is None:
            self._atomic.commit()
        else:
            self._atomic.abort()


def convert(source: str | Path, target: str | Path, *, batch_rows: int = 1_000_000) -> int:
    """Copy ``source`` to ``target`` in another format, batch by batch; return the rows."""
    format_of(target, output=True)
    rows = 0
    with Output(target) as out:
        for batch in iter_batches(source, batch_rows=batch_rows):
            out.write(batch)
            rows += batch.height
    return rows
