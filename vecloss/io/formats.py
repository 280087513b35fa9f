"""The file formats by suffix: each a module with ``read``, ``Writer`` and, when it streams,
``iter_batches``. Databases are not files: see :mod:`vecloss.io.database`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from vecloss.exceptions import InputError, UsageError
from vecloss.io import csv, ipc, json, ndjson, parquet

__all__ = ["SQLITE", "SUFFIXES", "format_of", "sqlite_hint"]

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

#: Compressed files, by suffix: the command that gives the file vecloss reads.
_COMPRESSED = {".gz": "gunzip -k", ".bz2": "bunzip2 -k", ".xz": "unxz -k", ".zst": "unzstd"}
#: Spreadsheets' own formats: saved as CSV from the program, or read by pandas.
_SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods")
#: SQLite files' usual suffixes: a database is given by its URI, not as a file.
SQLITE = (".db", ".sqlite", ".sqlite3")


def format_of(path: str | Path, *, output: bool = False) -> ModuleType:
    """The format module for ``path``'s suffix (an unknown one: a usage error for outputs)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        hint = _hint(Path(path), output=output)
        msg = f"{path}: unsupported suffix {suffix or '(none)'!r}; hint: {hint}"
        raise UsageError(msg) if output else InputError(msg)
    return SUFFIXES[suffix]


def sqlite_hint(path: str | Path, *, output: bool = False) -> str:
    """How to give the SQLite file ``path``: by its URI, with the table (or a query)."""
    if output:
        return (
            f"vecloss run writes a SQLite database by its URI: -o sqlite:///{path} "
            "--output-table NAME"
        )
    return (
        f"vecloss run, validate and risk read a SQLite database by its URI: sqlite:///{path} "
        "--table NAME (or --query SQL)"
    )


def _hint(path: Path, *, output: bool) -> str:
    """What to do with a file of an unknown suffix: decompress it, save a sheet as CSV, or
    use one of the formats read (for an output: write one of them)."""
    suffix = path.suffix.lower()
    inner = Path(path.stem).suffix.lower()
    if suffix in SQLITE:
        return sqlite_hint(path, output=output)
    if output:
        if suffix in _COMPRESSED or suffix == ".zip" or suffix in _SPREADSHEETS:
            return f"write one of {KNOWN} (Parquet is compressed; a spreadsheet program opens CSV)"
        return f"use one of {KNOWN}"
    if suffix in _COMPRESSED and inner in SUFFIXES:
        return (
            f"vecloss reads files uncompressed: decompress it first ({_COMPRESSED[suffix]} "
            f"{path}), then give the {inner} file"
        )
    if suffix == ".zip":
        return "vecloss reads files uncompressed: unzip it first, then give the file inside"
    if suffix in _SPREADSHEETS:
        return (
            "save the sheet as CSV UTF-8 from the spreadsheet program, or read it with "
            "pandas.read_excel and give the frame to vecloss.losses"
        )
    return f"use one of {KNOWN}"
