"""Blocks of rows spread over a few threads: the loop every vectorized pass runs (NumPy's
ufuncs and the compiled kernels release the GIL)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache

#: Rows per block: 65,536 float64 values are 512 KiB per column. Smaller blocks
#: fit L2 better but pay more Python per block; measured on 10M rows, 64K-256K
#: rows tie and 8K is twice as slow.
BLOCK_ROWS = 65_536


@cache
def cores() -> int:
    return os.cpu_count() or 1  # (a system call: 20 us, once per process)


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vecloss")


def for_each_block(
    rows: int,
    block: Callable[[int, int], None],
    *,
    workers: int | None = None,
    edges: Sequence[int] | None = None,
) -> None:
    """Call ``block(lo, hi)`` for every block of ``rows``, spread over threads.

    Each thread takes one contiguous span of whole blocks; small inputs stay on
    the calling thread. With ``edges`` (0, the end of each chunk of the rows,
    ..., ``rows``), no block crosses a chunk's end.
    """
    cuts = (0, rows) if edges is None else edges
    bounds = [
        (lo, min(lo + BLOCK_ROWS, stop))
        for start, stop in itertools.pairwise(cuts)
        for lo in range(start, stop, BLOCK_ROWS)
    ]

    def run_span(span: Sequence[tuple[int, int]]) -> None:
        for lo, hi in span:
            block(lo, hi)

    threads = min(workers or cores(), max(1, rows // (4 * BLOCK_ROWS)))
    if threads == 1:
        run_span(bounds)
        return
    splits = [len(bounds) * k // threads for k in range(threads + 1)]
    spans = [_pool(threads).submit(run_span, bounds[a:b]) for a, b in itertools.pairwise(splits)]
    for span in spans:
        span.result()
