"""The vectorized engine: whole columns in cache-sized blocks, on threads.

Each block runs one fused compiled loop (:mod:`vecloss.engines.compiled`:
the formula and the checks in one pass, Numba) or, without Numba or with
``VECLOSS_JIT=0``, the NumPy kernels of :mod:`vecloss.formulas` (one ufunc
per operation, temporaries in the block's own slice of the output). Both
release the GIL, so the blocks are split across a few threads.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from vecloss.formulas import INPUTS, KERNELS, FloatArray, discount_factor
from vecloss.schema import NUMERIC
from vecloss.validate import block_ok

__all__ = [
    "BLOCK_ROWS",
    "Checked",
    "checked_losses",
    "compiled",
    "for_each_block",
    "vectorized_losses",
]

#: Rows per block: 65,536 float64 values are 512 KiB per column. Smaller blocks
#: fit L2 better but pay more Python per block; measured on 10M rows, 64K-256K
#: rows tie and 8K is twice as slow.
BLOCK_ROWS = 65_536


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vecloss")


def for_each_block(
    rows: int, block: Callable[[int, int], None], *, workers: int | None = None
) -> None:
    """Call ``block(lo, hi)`` for every block of ``rows``, spread over threads.

    Each thread takes one contiguous span of whole blocks; small inputs stay on
    the calling thread.
    """

    def run_span(start: int, stop: int) -> None:
        for lo in range(start, stop, BLOCK_ROWS):
            block(lo, min(lo + BLOCK_ROWS, stop))

    threads = min(workers or os.cpu_count() or 1, max(1, rows // (4 * BLOCK_ROWS)))
    if threads == 1:
        run_span(0, rows)
        return
    blocks = -(-rows // BLOCK_ROWS)
    edges = [min(rows, (blocks * k // threads) * BLOCK_ROWS) for k in range(threads + 1)]
    spans = [_pool(threads).submit(run_span, a, b) for a, b in itertools.pairwise(edges)]
    for span in spans:
        span.result()


def compiled() -> Any:
    """The fused compiled kernels (:mod:`vecloss.engines.compiled`), or None without Numba.

    Set the environment variable ``VECLOSS_JIT=0`` to run the NumPy kernels of
    :mod:`vecloss.formulas` instead (read at each call).
    """
    if os.environ.get("VECLOSS_JIT", "1") == "0":
        return None
    return _compiled_module()


@cache
def _compiled_module() -> Any:
    try:
        from vecloss.engines import compiled as module
    except ImportError:  # pragma: no cover - numba is a dependency; kept for odd platforms
        return None
    return module


@cache
def _bounds() -> tuple[FloatArray, FloatArray]:
    """Each input column's inclusive bounds, in :data:`INPUTS` order (NaN fails both)."""
    by_name = {c.name: c for c in NUMERIC}
    largest = np.finfo(np.float64).max
    low = [
        np.nextafter(by_name[n].low, np.inf) if by_name[n].low_open else by_name[n].low
        for n in INPUTS
    ]
    high = [by_name[n].high if np.isfinite(by_name[n].high) else largest for n in INPUTS]
    return np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)


def _read_only(column: FloatArray) -> FloatArray:
    """A contiguous, read-only float64 view: one compiled specialization for every input."""
    view = np.ascontiguousarray(column, dtype=np.float64).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Checked:
    """A loss column and what the fused checks found."""

    loss: FloatArray
    ok: bool  # every row keeps every numeric rule and has a finite loss
    increasing: bool  # the ids were checked and each is greater than the one before


def checked_losses(
    columns: Mapping[str, FloatArray],
    *,
    ids: npt.NDArray[np.int64] | None = None,
    formula: str = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
) -> Checked:
    """The loss column, and whether every row keeps the numeric rules, in one fused pass.

    ``columns`` maps the schema's numeric columns (float64, no nulls) by name;
    ``ids``, integer ids as int64, are checked for increasing order on the way
    (with the compiled kernels). Each block is checked while it is in cache:
    inside the compiled loop, or by :func:`vecloss.validate.block_ok` after the
    NumPy kernel.
    """
    inputs = tuple(columns[name] for name in INPUTS)
    return _blocked(inputs, formula, years, discount_rate, workers, check=True, ids=ids)


def vectorized_losses(
    columns: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    *,
    formula: str = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
) -> FloatArray:
    """The loss of every building, from (cost, area, probability, inflation) columns.

    The compiled kernels when Numba is there (their checks ignored: a row that
    breaks a rule gets whatever the formula gives, NaN for NaN input), else
    the NumPy kernels.
    """
    return _blocked(columns, formula, years, discount_rate, workers, check=False, ids=None).loss


def _blocked(
    inputs: Sequence[FloatArray],
    formula: str,
    years: int,
    discount_rate: float,
    workers: int | None,
    *,
    check: bool,
    ids: npt.NDArray[np.int64] | None,
) -> Checked:
    """Run the formula block by block on threads; with ``check``, the schema's checks too."""
    out = np.empty(len(inputs[0]), dtype=np.float64)
    failed: list[int] = []  # list.append is atomic under the GIL
    unsorted: list[int] = []
    module = compiled()
    if module is None:
        kernel = KERNELS[formula]

        def block(lo: int, hi: int) -> None:
            loss = kernel(
                *(col[lo:hi] for col in inputs),
                years=years,
                discount_rate=discount_rate,
                out=out[lo:hi],
            )
            if check and not block_ok(
                {n: c[lo:hi] for n, c in zip(INPUTS, inputs, strict=True)}, loss
            ):
                failed.append(lo)

    else:
        fused = module.KERNELS[formula]
        factor = discount_factor(years, discount_rate)
        low, high = _bounds()
        inputs = [_read_only(col) for col in inputs]

        def block(lo: int, hi: int) -> None:
            if fused(*(col[lo:hi] for col in inputs), years, factor, low, high, out[lo:hi]):
                failed.append(lo)
            if ids is not None:
                previous = ids[lo - 1] if lo else np.iinfo(np.int64).min
                if module.id_order(ids[lo:hi], previous):
                    unsorted.append(lo)

    for_each_block(len(out), block, workers=workers)
    increasing = ids is not None and module is not None and not unsorted
    return Checked(out, not (check and failed), increasing)
