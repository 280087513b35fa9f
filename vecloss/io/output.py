"""One output file written whole (staged, then published), and the protocols the sinks keep."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from vecloss.io._ahead import WriteBehind
from vecloss.io._errors import writing
from vecloss.io.atomic import AtomicPath
from vecloss.io.formats import format_of

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
def unless_done(output: Output) -> Iterator[Output]:
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
