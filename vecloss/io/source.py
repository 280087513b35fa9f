"""A source opened once: what it is (files or a database query), its parts, rows and columns.

:func:`open_source` checks the source exists, picks its format, expands a
folder or glob into its Parquet files and reads what the metadata tells
(row counts) before any batch is read. The runner plans :class:`Part` s from
it; a worker streams a part with :func:`iter_part`, anywhere (a part is a
small picklable spec).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.exceptions import UsageError
from vecloss.frames import text_ids
from vecloss.io import database, ipc, parquet
from vecloss.io._ahead import read_ahead
from vecloss.io._errors import no_such_file
from vecloss.io._stream import slices
from vecloss.io.database import is_database_uri, safe_uri, table_query
from vecloss.io.formats import SQLITE, format_of, sqlite_hint
from vecloss.io.lake import (
    expand,
    hive_keys,
    lake_root,
    one_id_type,
    with_partitions,
)
from vecloss.schema import ID

__all__ = [
    "Part",
    "Source",
    "all_columns",
    "expand",
    "frame_source",
    "hive_keys",
    "ids_as",
    "iter_batches",
    "iter_part",
    "open_source",
    "read_files",
    "read_source",
    "text_ids",
    "with_partitions",
]


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
    frame: pl.DataFrame | None = field(default=None, compare=False, repr=False)  # in memory
    id_type: pl.DataType | None = None  # the ids cast to it: one type across a folder's files
    # the ids this part shares with the parts before it (parts checked apart: Dask)
    shared: pl.Series | None = field(default=None, compare=False, repr=False)
    hive: tuple[tuple[str, Any], ...] = ()  # partition keys from the path: key=value folders

    def columns(self) -> list[str]:
        """Every column name of the part's source."""
        if self.frame is not None:
            return self.frame.columns
        names = all_columns(self.path, self.query)
        return [*names, *(key for key, _ in self.hive if key not in names)]


@dataclass(frozen=True)
class Source:
    """An opened source: its files (or a database URI and query), with each file's row count
    where the format stores it (Parquet; else None)."""

    name: str
    files: tuple[str, ...]
    query: str | None = None
    file_rows: tuple[int | None, ...] = ()
    frame: pl.DataFrame | None = field(default=None, compare=False, repr=False)  # in memory
    id_type: pl.DataType | None = None  # the files' common integer id type, where they differ
    hive: dict[str, tuple[tuple[str, Any], ...]] = field(default_factory=dict, compare=False)

    @property
    def is_database(self) -> bool:
        return self.query is not None

    @property
    def rows(self) -> int | None:
        """The source's row count when every file's is known up front; else None."""
        if self.query is not None or None in self.file_rows:
            return None
        return sum(r for r in self.file_rows if r is not None)

    def parts(self, *, part_rows: int | None = None) -> list[Part]:
        """Split into parts: whole files, or (with ``part_rows``) runs of Parquet row groups."""
        if self.frame is not None:
            return [Part(self.name, None, 0, 1, self.frame.height, frame=self.frame)]
        if self.query is not None:
            return [Part(self.files[0], None, 0, 1, None, self.query)]
        parts: list[Part] = []
        first_row = 1
        for name, rows in zip(self.files, self.file_rows, strict=True):
            path = Path(name)
            hive = self.hive.get(name, ())
            if part_rows is None or format_of(path) is not parquet:
                parts.append(Part(name, None, 0, first_row, rows, id_type=self.id_type, hive=hive))
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
                        Part(
                            name,
                            tuple(groups),
                            start,
                            first_row + start,
                            file_row - start,
                            id_type=self.id_type,
                            hive=hive,
                        )
                    )
                    groups, start = [], file_row
            if meta.num_row_groups == 0:
                parts.append(Part(name, None, 0, first_row, 0, id_type=self.id_type, hive=hive))
            first_row += meta.num_rows
        return parts


def frame_source(frame: pl.DataFrame, name: str = "portfolio") -> Source:
    """A frame in memory as a source: one part, streamed in slices."""
    return Source(name, (), file_rows=(frame.height,), frame=frame)


def all_columns(path: str, query: str | None = None) -> list[str]:
    """Every column name of a file or a query (Parquet and databases: from the schema alone)."""
    if query is not None:
        return database.query_columns(path, query)
    if format_of(path) is parquet:
        return list(parquet.read_schema(Path(path)).names)
    return read_source(path).columns


def open_source(
    source: str | Path, *, table: str | None = None, query: str | None = None
) -> Source:
    """Open ``source`` once: a file, a folder or glob of Parquet files, or a database URI.

    A database needs ``table`` or ``query`` (one of them); a file neither.
    """
    if is_database_uri(source):
        if (table is None) == (query is None):
            msg = (
                f"{safe_uri(str(source))}: name a table or a query (one of them); "
                "hint: --table NAME or --query SQL"
            )
            raise UsageError(msg)
        database.check_driver(str(source))
        database.check_exists(str(source))
        return Source(safe_uri(str(source)), (str(source),), query or table_query(str(table)))
    if table is not None or query is not None:
        msg = "--table and --query go with a database source (sqlite:///..., postgresql://...)"
        if Path(source).suffix.lower() in SQLITE:
            msg += f"; hint: {sqlite_hint(source)}"
        raise UsageError(msg)
    files = expand(source)
    hive = hive_keys(files, lake_root(source)) if len(files) > 1 or Path(source).is_dir() else {}
    for path in files:
        format_of(path)
        if not path.exists():
            raise no_such_file(path)
    id_type = one_id_type(files, str(source)) if len(files) > 1 else None
    rows = tuple(_count_rows(path) for path in files)
    return Source(str(source), tuple(str(p) for p in files), None, rows, id_type=id_type, hive=hive)


def _count_rows(path: Path) -> int | None:
    """The rows of a file whose format stores the count (Parquet); else None."""
    if format_of(path) is parquet and path.is_file():
        return int(parquet.read_metadata(path).num_rows)
    return None


def read_source(source: str | Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read a whole file into a frame, as stored (no validation)."""
    path = Path(source)
    module = format_of(path)
    if not path.exists():
        raise no_such_file(path)
    if module in (parquet, ipc):
        frame: pl.DataFrame = module.read(path, columns=columns)
        return text_ids(frame)
    frame = module.read(path)
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    return text_ids(frame)


def iter_batches(
    source: str | Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Yield the source as frames of at most ``batch_rows`` rows, in order.

    Parquet, CSV, NDJSON and JSON arrays (any layout) are streamed; Arrow IPC is
    memory-mapped and sliced.
    """
    path = Path(source)
    module = format_of(path)
    if hasattr(module, "iter_batches"):
        if not path.exists():
            raise no_such_file(path)
        yield from module.iter_batches(path, batch_rows=batch_rows, columns=columns)
        return
    yield from slices(read_source(path, columns=columns), batch_rows)


def iter_part(
    part: Part, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Stream one part in batches, the next one read ahead while this one is used."""
    if part.frame is not None:  # (the columns that are there: the caller names any missing)
        frame = part.frame
        kept = frame if columns is None else frame.select(c for c in columns if c in frame.columns)
        yield from slices(kept, batch_rows)
        return
    batches = _text_ids(_iter_part(part, batch_rows=batch_rows, columns=columns))
    if part.hive:
        batches = _with_partitions(batches, part.hive, columns)
    if part.id_type is not None:
        batches = _ids_as(batches, part.id_type)
    if part.query is None and format_of(part.path) is parquet:
        yield from batches  # Parquet decodes the next slices ahead on its own threads
    else:
        yield from read_ahead(batches)


def _text_ids(batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    for batch in batches:
        yield text_ids(batch)


def _with_partitions(
    batches: Iterator[pl.DataFrame], hive: Sequence[tuple[str, Any]], columns: Sequence[str] | None
) -> Iterator[pl.DataFrame]:
    for batch in batches:
        yield with_partitions(batch, hive, columns)


def _ids_as(batches: Iterator[pl.DataFrame], kind: pl.DataType) -> Iterator[pl.DataFrame]:
    for batch in batches:
        yield ids_as(batch, kind)


def ids_as(frame: pl.DataFrame, kind: pl.DataType | None) -> pl.DataFrame:
    """``frame`` with its ids cast to ``kind`` (a folder's common id type), if given."""
    if kind is None or ID not in frame.columns or frame.schema[ID] == kind:
        return frame
    return frame.with_columns(pl.col(ID).cast(kind))


def read_files(src: Source) -> list[pl.DataFrame]:
    """Each file of ``src`` read whole, as :func:`iter_part` streams it: its partition keys
    as columns and its ids of the folder's one type."""
    return [
        ids_as(with_partitions(read_source(path), src.hive.get(path, ())), src.id_type)
        for path in src.files
    ]


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
