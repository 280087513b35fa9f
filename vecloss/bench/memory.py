"""Peak resident memory of this process and its children while a callable runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["peak_rss"]

T = TypeVar("T")


def peak_rss(fn: Callable[[], T], *, interval: float = 0.005) -> tuple[T, float]:
    """Run ``fn``; return its result and the peak RSS above the starting RSS, in MiB.

    RSS is sampled every ``interval`` seconds (psutil) over this process and its
    children, so pool workers count too.
    """
    import psutil

    me = psutil.Process()

    def rss() -> int:
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)

    start = peak = rss()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(interval):
            peak = max(peak, rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    peak = max(peak, rss())
    return result, (peak - start) / 2**20
