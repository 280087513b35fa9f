"""Sinks: where results go, staged while the run works and published whole when it succeeds.

- :class:`Output`: one file written batch by batch beside its target and
  renamed into place on success (any format, by suffix).
- :func:`open_sink` picks, for a run's output or rejects: a :class:`FileSink`
  (one file), a :class:`FolderSink` (a folder of Parquet part files) or a
  :class:`TableSink` (a database table replaced in one transaction).

A sink hands each part of the run a :class:`PartWriter`: the sink's one shared
writer when parts run in turn in this process, or a staged part file (a
picklable path) when they run elsewhere (Dask). On success :meth:`Sink.publish`
makes the result appear at once; on failure :meth:`Sink.discard` leaves the
destination as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vecloss.exceptions import UsageError
from vecloss.io.database import is_database_uri, safe_uri
from vecloss.io.output import Output, PartWriter, Sink, together
from vecloss.io.sinks import FileSink, FolderSink, TableSink

__all__ = [
    "FileSink",
    "FolderSink",
    "Output",
    "PartWriter",
    "Sink",
    "TableSink",
    "check_targets",
    "is_folder_output",
    "open_sink",
    "together",
]


def is_folder_output(target: str | Path | None) -> bool:
    """An output ending in ``/`` or naming an existing folder is a folder of Parquet parts."""
    return target is not None and (str(target).endswith("/") or Path(target).is_dir())


def check_targets(
    inputs: Sequence[str], output: object = None, rejects: object = None, **others: object
) -> None:
    """Refuse, before any work, an output path (``output``, ``rejects`` or any of ``others``)
    that is an input, holds one, or is another output (symlinks and relative paths resolved)."""
    files = {Path(f).resolve() for f in inputs if not is_database_uri(f)}
    named = {"output": output, "rejects": rejects, **others}
    for kind, value in named.items():
        if value is None or is_database_uri(value):
            continue
        text = str(value)
        if not text.strip():
            msg = f"the {kind} path is empty; hint: name a file, e.g. losses.parquet"
            raise UsageError(msg)
        if Path(text.rstrip("/") or "/").name in ("", ".", ".."):
            msg = (
                f"{text}: the {kind} must name a file or a new folder, not this one; "
                f"hint: e.g. {text.rstrip('/')}/losses.parquet or results/"
            )
            raise UsageError(msg)
    places = {
        k: Path(str(v)).resolve()
        for k, v in named.items()
        if v is not None and not is_database_uri(v)
    }
    for kind, place in places.items():
        if place in files or any(place in f.parents for f in files):
            msg = f"{named[kind]}: the {kind} would replace the input; hint: write somewhere else"
            raise UsageError(msg)
    kinds = list(places)
    for i, kind in enumerate(kinds):
        for other in kinds[i + 1 :]:
            if places[kind] == places[other]:
                msg = (
                    f"{named[kind]}: the {kind} and the {other} are the same path; "
                    "hint: give two paths"
                )
                raise UsageError(msg)


def open_sink(target: str | Path, *, table: str | None = None) -> Sink:
    """The sink for an output or rejects destination (checked here, before any work)."""
    if is_database_uri(target):
        if table is None:
            msg = f"{safe_uri(str(target))}: name the table to write; hint: add --output-table NAME"
            raise UsageError(msg)
        return TableSink(str(target), table)
    if table is not None:
        msg = "--output-table goes with a database output (sqlite:///..., postgresql://...)"
        raise UsageError(msg)
    if is_folder_output(target):
        return FolderSink(target)
    return FileSink(target)
