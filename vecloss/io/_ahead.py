"""Read the next batch, and write the last one, on threads while the caller works."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol, TypeVar

import polars as pl

__all__ = ["WriteBehind", "read_ahead"]

T = TypeVar("T")


def read_ahead(batches: Iterator[T]) -> Iterator[T]:
    """Yield ``batches``, reading the next one on a thread while the caller works.

    Decoding (Parquet, CSV) and NumPy release the GIL, so it overlaps the loss pass
    (or Polars parsing the block before); one batch ahead bounds the extra memory
    to one batch. Errors reach the caller
    where they happened, in order.
    """
    done = object()
    slot: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fill() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slot.put((batch, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put((done, None))
        except BaseException as exc:  # handed to the caller, not lost on this thread
            slot.put((done, exc))

    reader = threading.Thread(target=fill, name="vecloss-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            slot.get_nowait()
        reader.join()


class Writer(Protocol):
    def write(self, frame: pl.DataFrame) -> None: ...
    def close(self) -> None: ...


class WriteBehind:
    """Write each batch on a thread while the caller computes the next.

    Encoding and compressing (Parquet, CSV) release the GIL, so writing
    overlaps reading and the loss pass. One batch waits in the queue at most.
    A failure is raised by the next :meth:`write` or by :meth:`close`; the
    wrapped writer is closed either way.
    """

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="vecloss-write", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._abandoned.is_set():
                return
            if self._error is None:  # after a failure, drop the rest so that write() never blocks
                try:
                    self._writer.write(frame)
                except BaseException as exc:  # handed to the caller
                    self._error = exc

    def write(self, frame: pl.DataFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def abandon(self) -> None:
        """Stop without waiting (a failed or interrupted run): the thread drops what is queued
        and ends; nothing here blocks, even if an interruption broke the queue's lock."""
        self._abandoned.set()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
        finally:
            self._writer.close()
