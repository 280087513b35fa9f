"""The formulas and the schema's checks fused into one compiled loop per block (Numba).

The NumPy kernels of :mod:`vecloss.formulas` make one pass over a block per
operation, and NumPy's float64 ``exp`` is a libm call per element on CPUs
without AVX-512 (6.6 ns each here, more than the whole memory floor). These
kernels do the same arithmetic, in the same order, in one loop that LLVM
vectorizes: each value is read once, the loss is written once, and the checks
(each column against its bounds, a finite loss, ids in increasing order) ride
along while the values are in registers.

Accuracy is kept, not traded: no fast-math (no reassociation, no contraction
into FMA), so the bits are the same on every run, for any block or thread
split. ``exp`` is FreeBSD's ``e_exp.c`` (fdlibm), error below 1 ulp, for
arguments whose result is a normal float; the rare others (overflow,
underflow, NaN) are recomputed with libm's ``math.exp``. The simple formula's
``(1 + i)**T`` is binary powering for ``T <= 1024`` (error at most ~``T`` ulp,
below 2.3e-13), libm's ``pow`` otherwise or where the result is not a normal
float. The tests hold both kernels to the scalar reference at 1e-12.

Importing this module compiles nothing; the first call compiles (or loads
from Numba's cache beside this file) each kernel once per process.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["KERNELS", "complex_block", "id_order", "simple_block"]

_jit = njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)

#: Rows handled per inner chunk: the scratch and the chunk's columns stay in L1/L2.
CHUNK = 2048

# fdlibm e_exp.c: ln2 split so that k * LN2_HI is exact, and the remez
# coefficients of the rational approximation of exp on [-ln2/2, ln2/2].
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
P1 = 1.66666666666666019037e-01
P2 = -2.77777777770155933842e-03
P3 = 6.61375632143793436117e-05
P4 = -1.65339022054652515390e-06
P5 = 4.13813679705723846039e-08
#: Adding 1.5 * 2**52 rounds to an integer held in the low mantissa bits.
SHIFT = 6755399441055744.0
#: exp(x) for x in [X_LOW, X_HIGH] is a normal float with 2**k, k in [-1021, 1023].
X_LOW, X_HIGH = -708.0, 709.0
#: The largest exponent taken by binary powering; the error grows ~T ulp.
MAX_POWERING = 1024
TINY = 2.2250738585072014e-308  # the smallest normal float64


@njit(inline="always")
def _row_ok(
    cost: float,
    area: float,
    prob: float,
    infl: float,
    loss: float,
    low: np.ndarray,
    high: np.ndarray,
) -> bool:
    """Every value within its bounds (NaN is not) and a finite loss."""
    ok: bool = (
        (cost >= low[0])
        & (cost <= high[0])
        & (area >= low[1])
        & (area <= high[1])
        & (prob >= low[2])
        & (prob <= high[2])
        & (infl >= low[3])
        & (infl <= high[3])
        & (loss < np.inf)
    )
    return ok


@_jit
def _finish(
    cost: np.ndarray,
    area: np.ndarray,
    prob: np.ndarray,
    infl: np.ndarray,
    factor: float,
    low: np.ndarray,
    high: np.ndarray,
    out: np.ndarray,
    growth: np.ndarray,
) -> int:
    """``out = growth * C * p * factor`` on one chunk; count the rows failing a check.

    Every loop here indexes slices from 0: LLVM vectorizes those, not loops
    over an offset range.
    """
    bad = 0
    for j in range(out.shape[0]):
        loss = growth[j] * cost[j]
        loss = loss * prob[j]
        loss = loss * factor
        out[j] = loss
        bad += not _row_ok(cost[j], area[j], prob[j], infl[j], loss, low, high)
    return bad


@_jit
def _check(
    cost: np.ndarray,
    area: np.ndarray,
    prob: np.ndarray,
    infl: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    loss: np.ndarray,
) -> int:
    """Count the rows failing a check, ``loss`` holding their final losses."""
    bad = 0
    for j in range(loss.shape[0]):
        bad += not _row_ok(cost[j], area[j], prob[j], infl[j], loss[j], low, high)
    return bad


@_jit
def _exp(area: np.ndarray, infl: np.ndarray, growth: np.ndarray, scale: np.ndarray) -> int:
    """``growth * scale = exp(i * A / 1000)`` on one chunk; count the arguments to redo."""
    outside = 0
    for j in range(growth.shape[0]):
        x = infl[j] * area[j]
        x = x / 1000.0
        outside += (x < X_LOW) | (x > X_HIGH) | (x != x)
        kd = x * INV_LN2 + SHIFT  # k = round(x / ln2), held in kd's low bits
        k = kd - SHIFT
        hi = x - k * LN2_HI
        lo = k * LN2_LO
        r = hi - lo
        t = r * r
        c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
        growth[j] = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
        scale[j] = kd
    bits = scale.view(np.int64)
    for j in range(bits.shape[0]):  # 2**k: k + 1023 into the exponent field
        bits[j] = (bits[j] + 1023) << 52
    return outside


@_jit
def _power(infl: np.ndarray, years: int, growth: np.ndarray, base: np.ndarray) -> int:
    """``growth = (1 + i)**T`` on one chunk by binary powering; count the results to redo."""
    for j in range(growth.shape[0]):
        base[j] = 1.0 + infl[j]
        growth[j] = 1.0
    power = years
    while power:
        if power & 1:
            for j in range(growth.shape[0]):
                growth[j] = growth[j] * base[j]
        power >>= 1
        if power:
            for j in range(base.shape[0]):
                base[j] = base[j] * base[j]
    outside = 0
    for j in range(growth.shape[0]):
        outside += (growth[j] < TINY) | (growth[j] > 1.0e300) | (growth[j] != growth[j])
    return outside


@_jit
def complex_block(
    cost: np.ndarray,
    area: np.ndarray,
    prob: np.ndarray,
    infl: np.ndarray,
    years: int,
    factor: float,
    low: np.ndarray,
    high: np.ndarray,
    out: np.ndarray,
) -> int:
    """``out = C * exp(i * A / 1000) * p * factor``; return how many rows fail a check.

    ``years`` is taken for the simple kernel's signature; the discount is in ``factor``.
    """
    n = out.shape[0]
    growth = np.empty(min(n, CHUNK))
    scale = np.empty(min(n, CHUNK))
    bad = 0
    outside = 0
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        m = hi - lo
        outside += _exp(area[lo:hi], infl[lo:hi], growth[:m], scale[:m])
        for j in range(m):
            growth[j] = growth[j] * scale[j]
        bad += _finish(
            cost[lo:hi],
            area[lo:hi],
            prob[lo:hi],
            infl[lo:hi],
            factor,
            low,
            high,
            out[lo:hi],
            growth[:m],
        )
    if outside:  # rare: recompute those rows with libm, then check the block again
        for j in range(n):
            x = infl[j] * area[j]
            x = x / 1000.0
            if not ((x >= X_LOW) & (x <= X_HIGH)):
                loss = math.exp(x) * cost[j]
                loss = loss * prob[j]
                out[j] = loss * factor
        bad = _check(cost, area, prob, infl, low, high, out)
    return bad


@_jit
def simple_block(
    cost: np.ndarray,
    area: np.ndarray,
    prob: np.ndarray,
    infl: np.ndarray,
    years: int,
    factor: float,
    low: np.ndarray,
    high: np.ndarray,
    out: np.ndarray,
) -> int:
    """``out = C * (1 + i)**T * p * factor``; return how many rows fail a check."""
    n = out.shape[0]
    growth = np.empty(min(n, CHUNK))
    base = np.empty(min(n, CHUNK))
    bad = 0
    outside = 0
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        m = hi - lo
        if years > MAX_POWERING:
            for j in range(m):
                growth[j] = math.pow(1.0 + infl[lo + j], float(years))
        else:
            outside += _power(infl[lo:hi], years, growth[:m], base[:m])
        bad += _finish(
            cost[lo:hi],
            area[lo:hi],
            prob[lo:hi],
            infl[lo:hi],
            factor,
            low,
            high,
            out[lo:hi],
            growth[:m],
        )
    if outside:  # rare: recompute the rows whose power is not a normal float with libm
        one = np.empty(1)
        spare = np.empty(1)
        for j in range(n):
            _power(infl[j : j + 1], years, one, spare)
            if (one[0] < TINY) | (one[0] > 1.0e300) | (one[0] != one[0]):
                loss = math.pow(1.0 + infl[j], float(years)) * cost[j]
                loss = loss * prob[j]
                out[j] = loss * factor
        bad = _check(cost, area, prob, infl, low, high, out)
    return bad


@_jit
def id_order(ids: np.ndarray, previous: int) -> int:
    """How many of ``ids`` are not greater than the id before them (``previous`` for the first)."""
    unsorted = 0
    n = ids.shape[0]
    if n:
        unsorted += ids[0] <= previous
    for j in range(1, n):
        unsorted += ids[j] <= ids[j - 1]
    return unsorted


KERNELS = {"complex": complex_block, "simple": simple_block}
