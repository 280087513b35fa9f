"""A source opened once: what it is (files or a database query), its parts, rows and columns.

:func:`open_source` checks the source exists, picks its format, expands a
folder or glob into its Parquet files and reads what the metadata tells
(row counts) before any batch is read. The runner plans :class:`Part` s from
it; a worker streams a part with :func:`iter_part`, anywhere (a part is a
small picklable spec).
"""

from __future__ import annotations

import itertools
import re
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from vecloss.exceptions import InputError, UsageError
from vecloss.frames import text_ids
from vecloss.io import database, ipc, parquet
from vecloss.io._ahead import read_ahead
from vecloss.io._stream import slices
from vecloss.io.database import is_database_uri, safe_uri, table_query
from vecloss.io.formats import format_of
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
        raise UsageError(msg)
    files = expand(source)
    hive = hive_keys(files, _root(source)) if len(files) > 1 or Path(source).is_dir() else {}
    for path in files:
        format_of(path)
        if not path.exists():
            msg = f"{path}: no such file; hint: check the path"
            raise InputError(msg)
    id_type = _one_id_type(files, str(source)) if len(files) > 1 else None
    rows = tuple(_count_rows(path) for path in files)
    return Source(str(source), tuple(str(p) for p in files), None, rows, id_type=id_type, hive=hive)


def _id_type(path: Path) -> pa.DataType | None:
    schema = parquet.read_schema(path)
    return schema.field(ID).type if ID in schema.names else None  # (missing: said when read)


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _one_id_type(files: Sequence[Path], source: str) -> pl.DataType | None:
    """One id type per run: files of a folder that disagree would make ``1`` and ``"1"``
    two buildings. Integer ids of different widths or signs are read as the type that holds
    them all (Int32 and Int64: Int64; Int64 and UInt64: Int128), returned here, so that every
    output part has one schema (hardening C6); None when the files agree."""
    kinds: dict[str, list[str]] = {}
    integers: set[pa.DataType] = set()
    for path in files:
        kind = _id_type(path)
        if kind is None:
            continue
        if pa.types.is_integer(kind):
            integers.add(kind)
            name = "integer"
        elif _is_text(kind):
            name = "string"
        else:
            name = str(kind)
        kinds.setdefault(name, []).append(path.name)
    if len(kinds) > 1:
        found = "; ".join(
            f"{kind} in {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for kind, names in kinds.items()
        )
        msg = (
            f"{source}: {ID} is not of one type across the files ({found}); hint: write every "
            f"file with the same {ID} type"
        )
        raise InputError(msg)
    if len(integers) < 2:
        return None
    empty = [pl.DataFrame(pl.from_arrow(pa.table({ID: pa.array([], kind)}))) for kind in integers]
    return pl.concat(empty, how="vertical_relaxed").schema[ID]


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
        msg = f"{path}: no such file; hint: check the path"
        raise InputError(msg)
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
            msg = f"{path}: no such file; hint: check the path"
            raise InputError(msg)
        yield from module.iter_batches(path, batch_rows=batch_rows, columns=columns)
        return
    yield from slices(read_source(path, columns=columns), batch_rows)


GLOB_CHARS = frozenset("*?[")
_PARTITION = re.compile(r"^([^=]+)=(.*)$")


def _visible(relative: Path) -> bool:
    """Not hidden (``.staging``) nor a writer's own (``_SUCCESS``, ``_temporary``)."""
    return not any(part.startswith((".", "_")) for part in relative.parts)


def _root(source: str | Path) -> Path:
    """Where partition folders start: the folder itself, or a glob's fixed leading part."""
    text = str(source)
    if not GLOB_CHARS & set(text):
        return Path(source)
    parts = Path(text).parts
    fixed = list(itertools.takewhile(lambda p: not GLOB_CHARS & set(p), parts))
    return Path(*fixed) if fixed else Path()


def hive_keys(files: Sequence[Path], root: Path) -> dict[str, tuple[tuple[str, Any], ...]]:
    """Each file's partition keys, from its ``key=value`` folders below ``root`` (Hive's
    layout, which Polars, pyarrow, DuckDB and Spark write), as columns: a key whose values
    are all whole numbers is Int64, any other String; ``__HIVE_DEFAULT_PARTITION__`` is null.
    Files that disagree on the keys are an error."""
    raw: dict[str, list[tuple[str, str]]] = {}
    for path in files:
        try:
            folders = path.parent.relative_to(root).parts
        except ValueError:
            folders = ()
        matches = [m for m in map(_PARTITION.match, folders) if m is not None]
        raw[str(path)] = [(m.group(1), m.group(2)) for m in matches]
    keys = {tuple(k for k, _ in pairs) for pairs in raw.values()}
    if len(keys) > 1:
        found = " and ".join(sorted("/".join(k) or "(none)" for k in keys))
        msg = f"{root}: files are partitioned by different keys ({found}); hint: one layout"
        raise InputError(msg)
    values: dict[str, list[str]] = {}
    for pairs in raw.values():
        for key, value in pairs:
            values.setdefault(key, []).append(value)
    whole = {key: all(_whole(v) for v in vs if v != _NULL_PARTITION) for key, vs in values.items()}

    def typed(key: str, value: str) -> Any:
        if value == _NULL_PARTITION:
            return None
        text = urllib.parse.unquote(value)
        return int(text) if whole[key] else text

    return {name: tuple((k, typed(k, v)) for k, v in pairs) for name, pairs in raw.items()}


_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def _whole(text: str) -> bool:
    return re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", text) is not None


def expand(source: str | Path) -> list[Path]:
    """The files of a source: itself, or the sorted Parquet files of a directory or glob."""
    text = str(source)
    path = Path(source)
    if path.is_dir():  # every level, as Polars, pyarrow and DuckDB read a partitioned lake
        files = sorted(p for p in path.rglob("*.parquet") if _visible(p.relative_to(path)))
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


def with_partitions(
    frame: pl.DataFrame, hive: Sequence[tuple[str, Any]], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """``frame`` with its file's partition keys as columns (those asked for)."""
    return frame.with_columns(
        pl.lit(value, dtype=pl.Int64 if isinstance(value, int) else pl.String).alias(key)
        for key, value in hive
        if (columns is None or key in columns) and key not in frame.columns
    )


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
