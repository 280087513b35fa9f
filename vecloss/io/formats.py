"""The file formats by suffix: each a module with ``read``, ``Writer`` and, when it streams,
``iter_batches``. Databases are not files: see :mod:`vecloss.io.database`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from vecloss.exceptions import InputError, UsageError
from vecloss.io import csv, ipc, json, ndjson, parquet

__all__ = ["SUFFIXES", "format_of"]

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


def format_of(path: str | Path, *, output: bool = False) -> ModuleType:
    """The format module for ``path``'s suffix (an unknown one: a usage error for outputs)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        msg = f"{path}: unsupported suffix {suffix or '(none)'!r}; hint: use one of {KNOWN}"
        raise UsageError(msg) if output else InputError(msg)
    return SUFFIXES[suffix]
