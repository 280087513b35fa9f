"""Folders and globs of files as one input, as a lake holds them: every level read, hidden
and ``_``-named entries skipped, ``key=value`` folders (Hive's layout) as columns, and the one
id type of all the files."""

from __future__ import annotations

import itertools
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from vecloss.display import counted
from vecloss.exceptions import InputError
from vecloss.io import parquet
from vecloss.io.formats import SUFFIXES, format_of
from vecloss.schema import ID

if TYPE_CHECKING:
    import pyarrow as pa

GLOB_CHARS = frozenset("*?[")


_PARTITION = re.compile(r"^([^=]+)=(.*)$")


def _visible(relative: Path) -> bool:
    """Not hidden (``.staging``) nor a writer's own (``_SUCCESS``, ``_temporary``)."""
    return not any(part.startswith((".", "_")) for part in relative.parts)


def lake_root(source: str | Path) -> Path:
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
        found = [p for p in path.rglob("*") if _visible(p.relative_to(path)) and p.is_file()]
        files = sorted(p for p in found if p.suffix.lower() == ".parquet")
        _no_other_portfolios(path, files, found)
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


def _no_other_portfolios(folder: Path, files: Sequence[Path], found: Sequence[Path]) -> None:
    """Refuse a folder of Parquet files that also holds files of another portfolio format
    (``.csv``, ``.json``, ...): a folder input reads only the Parquet files, and the others'
    buildings would be left out of the total without a word."""
    others = sorted(p for p in found if p.suffix.lower() in SUFFIXES.keys() - {".parquet"})
    if not others:
        return
    shown = ", ".join(str(p.relative_to(folder)) for p in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    if not files:
        msg = (
            f"{folder}/: no Parquet files found, but {shown}{more}; hint: give a file itself "
            f"(vecloss run {others[0]}): a folder input reads the .parquet files in it"
        )
        raise InputError(msg)
    msg = (
        f"{folder}/: holds {counted(len(files), 'Parquet file')} and "
        f"also {shown}{more}, which a folder input does not read; hint: convert them "
        f"(vecloss convert {others[0]} {others[0].with_suffix('.parquet')}), move them out, "
        f"or give only the Parquet files: '{folder}/*.parquet'"
    )
    raise InputError(msg)


def with_partitions(
    frame: pl.DataFrame, hive: Sequence[tuple[str, Any]], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """``frame`` with its file's partition keys as columns (those asked for)."""
    return frame.with_columns(
        pl.lit(value, dtype=pl.Int64 if isinstance(value, int) else pl.String).alias(key)
        for key, value in hive
        if (columns is None or key in columns) and key not in frame.columns
    )


def _id_type(path: Path) -> pa.DataType | None:
    schema = parquet.read_schema(path)
    return schema.field(ID).type if ID in schema.names else None  # (missing: said when read)


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa  # (loaded already: ``kind`` is one of its)

    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def one_id_type(files: Sequence[Path], source: str) -> pl.DataType | None:
    """One id type per run: files of a folder that disagree would make ``1`` and ``"1"``
    two buildings. Integer ids of different widths or signs are read as the type that holds
    them all (Int32 and Int64: Int64; Int64 and UInt64: Int128), returned here, so that every
    output part has one schema (hardening C6); None when the files agree."""
    import pyarrow as pa  # (the files' schemas are read with it)

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
