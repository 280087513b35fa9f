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

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from vecloss.exceptions import UsageError
from vecloss.io._ahead import WriteBehind
from vecloss.io._errors import writing
from vecloss.io.atomic import AtomicPath, exchange, folder_mode, stage_prefix, sweep
from vecloss.io.database import DatabaseOutput, is_database_uri, safe_uri
from vecloss.io.formats import format_of

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


K = TypeVar("K")


class Writer(Protocol):
    def write(self, frame: pl.DataFrame) -> None: ...


class Output:
    """A destination file written batch by batch and renamed into place on success.

    Batches are written on a thread (:class:`~vecloss.io._ahead.WriteBehind`)
    while the caller works on the next. Use as a context manager: on a clean
    exit the file appears whole; on an exception it does not appear, and a file
    already there is left intact. :meth:`header` gives the columns to write if
    no batch comes (so that an empty result is still a valid file).
    """

    def __init__(self, target: str | Path, *, shown: str | None = None) -> None:
        self.target = Path(target)
        self.shown = shown or str(target)  # the destination named in errors (U5)
        self._module = format_of(self.target, output=True)
        self._atomic: AtomicPath | None = None
        self._writer: WriteBehind | None = None
        self._header: pl.DataFrame | None = None
        self.written = False

    def __enter__(self) -> Output:
        with writing(self.shown):
            self._atomic = AtomicPath(self.target)
        try:
            with writing(self.shown):
                self._writer = WriteBehind(self._module.Writer(self._atomic.path))
        except BaseException:  # a signal (or an error) between the two: no file left behind
            self._atomic.abort()
            raise
        return self

    def write(self, frame: pl.DataFrame) -> None:
        if self._writer is None:
            msg = "write to an Output inside its with-block"
            raise RuntimeError(msg)
        with writing(self.shown):
            self._writer.write(frame)
        self.written = True

    def header(self, empty: pl.DataFrame) -> None:
        """The columns to write if no batch is written."""
        if self._header is None:
            self._header = empty.clear()

    def finish(self) -> None:
        """Write the rest and close the staged file, without publishing it yet: outputs that
        must appear together are all finished first, then published (hardening D7)."""
        if self._atomic is None or self._writer is None:
            return
        writer, self._writer = self._writer, None
        try:
            with writing(self.shown):
                if not self.written and self._header is not None:
                    writer.write(self._header)
                writer.close()
        except BaseException:
            self._atomic.abort()
            self._atomic = None
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._atomic is None:
            return
        if exc_type is not None:  # failed or stopped: drop it all
            if self._writer is not None:
                self._writer.abandon()
            self._atomic.abort()
            return
        self.finish()
        with writing(self.shown):
            self._atomic.commit()


@contextlib.contextmanager
def together(outputs: Mapping[K, Output]) -> Iterator[Mapping[K, Output]]:
    """Outputs that appear together or not at all (hardening D7): each is entered at once
    (its destination tried before any work), written in the block; on a clean exit all are
    finished, then all published; on an error none is."""
    with contextlib.ExitStack() as stack:
        for output in outputs.values():
            stack.enter_context(output)
        yield outputs
        for output in outputs.values():
            output.finish()


@contextlib.contextmanager
def _unless_done(output: Output) -> Iterator[Output]:
    """``output`` entered, and on an error left (dropped); on success left open."""
    output.__enter__()
    try:
        yield output
    except BaseException as exc:
        output.__exit__(type(exc), exc, None)
        raise


@dataclass(frozen=True)
class PartWriter:
    """Where one part writes: a staged Parquet file (picklable), or the sink's shared writer."""

    path: Path | None = None
    shared: Any = None
    shown: str | None = None  # the destination the user gave, for errors

    @contextlib.contextmanager
    def open(self) -> Iterator[Any]:
        """The writer for this part: a new staged file, or the shared writer (left open)."""
        if self.shared is not None:
            yield self.shared
        elif self.path is not None:
            with Output(self.path, shown=self.shown) as out:
                yield out
        else:
            yield None


class Sink(Protocol):
    """A run's destination: parts write through it, then it is published or discarded."""

    target: str
    stages: bool  # whether parts can write staged files of their own (run elsewhere)

    def part(self, index: int, *, staged: bool) -> PartWriter: ...
    def finish(self, staged: Sequence[Path]) -> None: ...
    def publish(self) -> None: ...
    def discard(self) -> None: ...


def is_folder_output(target: str | Path | None) -> bool:
    """An output ending in ``/`` or naming an existing folder is a folder of Parquet parts."""
    return target is not None and (str(target).endswith("/") or Path(target).is_dir())


def _staging_folder(beside: Path) -> Path:
    """A fresh hidden folder beside ``beside`` (same file system, so publishing is a rename),
    named after this process; those of killed runs are swept first."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    sweep(beside)
    return Path(tempfile.mkdtemp(prefix=stage_prefix(beside), dir=beside.parent))


class _Staging:
    """Staged part files in a hidden folder beside the target, made on first use."""

    def __init__(self, beside: Path) -> None:
        self.beside = beside
        self.folder: Path | None = None

    def path(self, index: int) -> Path:
        if self.folder is None:
            self.folder = _staging_folder(self.beside)
        return self.folder / f"part-{index:05d}.parquet"

    def discard(self) -> None:
        if self.folder is not None:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(self.folder)
            self.folder = None


class FileSink:
    """One file: parts in turn write into one staged file; staged parts are concatenated."""

    stages = True

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        format_of(target, output=True)
        self._output: Output | None = None
        self._staging = _Staging(Path(target).absolute())  # absolute: workers run elsewhere

    def part(self, index: int, *, staged: bool) -> PartWriter:
        if staged:
            return PartWriter(path=self._staging.path(index), shown=self.target)
        if self._output is None:
            self._output = Output(self.target)  # known to discard() before it is entered
            self._output.__enter__()
        return PartWriter(shared=self._output)

    def finish(self, staged: Sequence[Path]) -> None:
        """The whole file written (the shared one closed, or the staged parts joined), not
        yet in place: :meth:`publish` renames it."""
        if staged:
            import pyarrow.parquet as pq

            if self._output is not None:  # (parts run in turn and staged: not both)
                self._output.__exit__(RuntimeError, None, None)
            self._output = Output(self.target)
            with _unless_done(self._output) as out:
                out.header(pl.DataFrame(pl.from_arrow(pq.read_schema(staged[0]).empty_table())))
                for path in staged:
                    for batch in pq.ParquetFile(path).iter_batches(batch_size=1_000_000):
                        out.write(pl.DataFrame(pl.from_arrow(batch)))
            self._staging.discard()
        if self._output is not None:
            self._output.finish()

    def publish(self) -> None:
        if self._output is not None:
            output, self._output = self._output, None
            output.__exit__(None, None, None)
        self._staging.discard()

    def discard(self) -> None:
        if self._output is not None:
            output, self._output = self._output, None
            output.__exit__(RuntimeError, None, None)
        self._staging.discard()


_PART_FILE = re.compile(r"part-\d{5}\.parquet")


class FolderSink:
    """A folder of Parquet part files, ``part-00000.parquet``, ...: every part is staged."""

    stages = True

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        self.folder = Path(str(target).rstrip("/")).absolute()
        if self.folder.is_symlink():  # replace the folder it points to, keep the link
            self.folder = self.folder.resolve()
        if self.folder.is_dir():
            foreign = [p.name for p in self.folder.iterdir() if not _PART_FILE.fullmatch(p.name)]
            if foreign:
                msg = (
                    f"{self.folder}/ holds files vecloss did not write ({', '.join(foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}); a folder output replaces the whole "
                    "folder; hint: give a new or empty folder"
                )
                raise UsageError(msg)
        self._staging = _Staging(self.folder)
        self._staged: list[Path] = []

    def part(self, index: int, *, staged: bool) -> PartWriter:
        del staged  # a folder's parts are always files of their own
        return PartWriter(path=self._staging.path(index), shown=self.target)

    def finish(self, staged: Sequence[Path]) -> None:
        self._staged = list(staged)

    def publish(self) -> None:
        """The staged parts, renamed in order, replace the folder."""
        staged, self._staged = self._staged, []
        fresh = _staging_folder(self.folder)
        for index, part in enumerate(staged):
            part.replace(fresh / f"part-{index:05d}.parquet")
        fresh.chmod(folder_mode())
        if self.folder.exists():  # one atomic swap: at no moment is there no folder (D8)
            exchange(fresh, self.folder)
            shutil.rmtree(fresh, ignore_errors=True)  # (the old folder, under the staged name)
        else:
            fresh.replace(self.folder)
        self._staging.discard()

    def discard(self) -> None:
        self._staging.discard()


class TableSink:
    """A database table, replaced in one transaction: parts write in turn, in this process."""

    stages = False

    def __init__(self, uri: str, table: str) -> None:
        self.target = f"{safe_uri(uri)} table {table}"
        self._output = DatabaseOutput(uri, table)
        self._open = False

    def part(self, index: int, *, staged: bool) -> PartWriter:
        if staged:
            msg = "a table cannot take staged parts (the runner checks Sink.stages first)"
            raise ValueError(msg)
        if not self._open:
            self._output.__enter__()
            self._open = True
        return PartWriter(shared=self._output)

    def finish(self, staged: Sequence[Path]) -> None:
        del staged  # (the rows are in the transaction, committed by publish)

    def publish(self) -> None:
        if self._open:
            self._open = False
            self._output.__exit__(None, None, None)

    def discard(self) -> None:
        if self._open:
            self._open = False
            self._output.__exit__(RuntimeError, None, None)


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
