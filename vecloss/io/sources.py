"""Pick a reader or writer by the path's suffix; iterate a source in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Protocol

import polars as pl

from vecloss.exceptions import InputError, UsageError
from vecloss.io import csv, database, ipc, json, ndjson, parquet
from vecloss.io._ahead import WriteBehind, read_ahead
from vecloss.io._stream import slices
from vecloss.io.atomic import AtomicPath
from vecloss.io.database import is_database_uri

__all__ = [
    "SUFFIXES",
    "Output",
    "Part",
    "convert",
    "count_rows",
    "expand",
    "format_of",
    "iter_batches",
    "iter_part",
    "plan_parts",
    "read_ahead",
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
    if module in (parquet, ipc):
        frame: pl.DataFrame = module.read(path, columns=columns)
        return frame
    frame = module.read(path)
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    return frame


def source_columns(source: str | Path, query: str | None = None) -> list[str]:
    """Every column name of ``source`` (Parquet and databases: from the schema alone)."""
    if query is not None:
        return database.query_columns(str(source), query)
    path = Path(source)
    module = format_of(path)
    if module is parquet:
        return list(parquet.read_schema(path).names)
    return read_source(path).columns


def count_rows(source: str | Path) -> int | None:
    """The number of rows, when the format stores it (Parquet); else None."""
    if is_database_uri(source):
        return None
    files = expand(source)
    if all(format_of(f) is parquet and f.is_file() for f in files):
        return sum(int(parquet.read_metadata(f).num_rows) for f in files)
    return None


def iter_batches(
    source: str | Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield the source as frames of at most ``batch_rows`` rows, in order.

    Parquet, CSV and NDJSON are streamed; a JSON array and Arrow IPC (mapped) are
    read once and sliced.
    """
    path = Path(source)
    module = format_of(path)
    if hasattr(module, "iter_batches"):
        if not path.exists():
            msg = f"{path}: no such file; hint: check the path"
            raise InputError(msg)
        yield from module.iter_batches(path, batch_rows=batch_rows, columns=columns)
        return
    yield from slices(read_source(path, columns=columns), batch_rows)


GLOB_CHARS = frozenset("*?[")


def expand(source: str | Path) -> list[Path]:
    """The files of a source: itself, or the sorted Parquet files of a directory or glob."""
    text = str(source)
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        where = f"{path}/"
    elif GLOB_CHARS & set(text):
        anchor = Path(text).anchor or "."
        pattern = str(Path(text).relative_to(anchor)) if Path(text).is_absolute() else text
        files = sorted(p for p in Path(anchor).glob(pattern) if p.is_file())
        where = text
    else:
        return [path]
    if not files:
        msg = f"{where}: no Parquet files found; hint: a folder or glob input holds .parquet files"
        raise InputError(msg)
    for file in files:
        if format_of(file) is not parquet:
            msg = f"{file}: only Parquet files can form a folder or glob input"
            raise InputError(msg)
    return files


@dataclass(frozen=True)
class Part:
    """A stretch of one input file that a worker can stream: a picklable spec.

    ``row_groups`` (Parquet) selects the stretch, None means the whole file;
    ``file_row`` is where it starts in its file (0-based) and ``first_row`` the
    input-wide row number of its first row (1-based).
    """

    path: str
    row_groups: tuple[int, ...] | None
    file_row: int
    first_row: int
    rows: int | None
    query: str | None = None  # a database part: ``path`` is the URI


def plan_parts(
    source: str | Path, *, part_rows: int | None = None, query: str | None = None
) -> list[Part]:
    """Split a source into parts: whole files, or (with ``part_rows``) runs of row groups.

    A database URI is one part, read with ``query``.
    """
    if is_database_uri(source):
        if query is None:
            msg = f"{source}: name a table or a query; hint: add --table NAME or --query SQL"
            raise UsageError(msg)
        return [Part(str(source), None, 0, 1, None, query)]
    parts: list[Part] = []
    first_row = 1
    for path in expand(source):
        if part_rows is None or format_of(path) is not parquet:
            rows = count_rows(path)
            parts.append(Part(str(path), None, 0, first_row, rows))
            first_row += rows or 0
            continue
        meta = parquet.read_metadata(path)
        groups: list[int] = []
        start = file_row = 0
        for index in range(meta.num_row_groups):
            groups.append(index)
            file_row += meta.row_group(index).num_rows
            if file_row - start >= part_rows or index == meta.num_row_groups - 1:
                parts.append(
                    Part(str(path), tuple(groups), start, first_row + start, file_row - start)
                )
                groups, start = [], file_row
        if meta.num_row_groups == 0:
            parts.append(Part(str(path), None, 0, first_row, 0))
        first_row += meta.num_rows
    return parts


def iter_part(
    part: Part, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Stream one part in batches, the next one read ahead while this one is used."""
    batches = _iter_part(part, batch_rows=batch_rows, columns=columns)
    if part.query is None and format_of(part.path) is parquet:
        yield from batches  # Parquet decodes the next slices ahead on its own threads
    else:
        yield from read_ahead(batches)


def _iter_part(
    part: Part, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    if part.query is not None:
        yield from database.iter_batches(
            part.path, part.query, batch_rows=batch_rows, columns=columns
        )
    elif part.row_groups is None:
        yield from iter_batches(part.path, batch_rows=batch_rows, columns=columns)
    else:
        yield from parquet.iter_batches(
            Path(part.path), batch_rows=batch_rows, columns=columns, row_groups=part.row_groups
        )


class Output:
    """A destination file written batch by batch and renamed into place on success.

    Batches are written on a thread (:class:`~vecloss.io._ahead.WriteBehind`)
    while the caller works on the next.

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
        self._writer = WriteBehind(self._module.Writer(self._atomic.path))
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
