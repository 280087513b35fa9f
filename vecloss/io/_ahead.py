"""Read the next batch on a thread while the caller works on this one."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import polars as pl

__all__ = ["read_ahead"]


def read_ahead(batches: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Yield ``batches``, reading the next one on a thread while the caller works.

    Decoding (Parquet, CSV) releases the GIL, so it overlaps the loss pass; one
    batch ahead bounds the extra memory to one batch. Errors reach the caller
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
