"""Exact AEP bounds at portfolio size: the period's total loss between two lattice sums.

Each building's loss if hit, ``S``, is put on a lattice of step ``h``: rounded down (``h *
floor(S / h) <= S``) for a lower total and up for an upper one. In every outcome the lower
total is at most the true total and the upper at least, so the true VaR and TVaR at every
return period lie between those of the two lattice totals (both are monotone under that
order). Each lattice total is a sum of independent ``k_b`` with probability ``p_b``; its
distribution comes whole from its generating function ``prod (1 - p + p z**k)``:

- buildings with ``p <= 0.2`` through ``log(1 + r z**k) = sum (-1)**(j+1) r**j z**(j k) / j``,
  ``r = p / (1 - p) <= 1/4`` (terms below 1e-18 dropped; on the FFT's roots of unity
  ``z**(j k)`` is ``z**(j k mod N)``), one real FFT of the summed series,
  ``exp``, and the inverse FFT (numpy.fft: pocketfft);
- buildings hit every period (``p = 1``) as a shift; the others (``0.2 < p < 1``, rare in
  real portfolios; at most 256) each as a factor on the spectrum.

The FFT size ``N`` is a power of two with ``P(upper total >= N) <= 1e-15`` by a Chernoff bound
(``E[exp(t L)] exp(-t N)``, at the best of 100 values of ``t``), so the wrap-around of the
circular convolution moves at most that much probability. Rounding in the FFT is allowed for
with an allowance of ``(N log2 N + 1) * 2**-52`` on every exceedance probability: the lower
curve reads ``P(L > x)`` that much lower, the upper that much higher. The step is chosen so
that the expected number of hits times ``h`` is ``precision`` of the expected total (coarser
when one building's loss dwarfs the others': the bounds hold at any step, only wider).
"""

from __future__ import annotations

import math

import numpy as np

from vecloss.formulas import FloatArray
from vecloss.risk.measures import distribution_tail

__all__ = ["MAX_SIZE", "aep_bounds"]

#: The largest FFT (points of the lattice) a bound may take: 2**24, 268 MB per complex array.
MAX_SIZE = 1 << 24
_SERIES_P = 0.2  # p up to here through the log series (r = p / (1 - p) <= 1/4)
_TINY = 1e-18
_WRAP = 1e-15
_COARSEST = 0.05  # the coarsest lattice step tried, as a share of the mean loss of a hit
_MAX_FACTORS = 256  # buildings with 0.2 < p < 1, each a factor on the spectrum


def _lattice(loss: FloatArray, h: float, up: bool) -> np.ndarray:
    """``floor(S / h)`` (or ``ceil``), corrected so that ``k h <= S`` (``>=``) in floats too."""
    k = (np.ceil if up else np.floor)(loss / h)
    if up:
        return np.where(k * h < loss, k + 1, k).astype(np.int64)
    return np.where(k * h > loss, k - 1, k).astype(np.int64)


def _tail_bound(p: FloatArray, k: np.ndarray, at: float) -> float:
    """A Chernoff bound on ``P(sum of k_b over hit buildings >= at)``."""
    scale = max(1.0, float(np.average(k, weights=p)))
    best = 1.0
    with np.errstate(divide="ignore"):
        log_keep = np.log1p(-np.minimum(p, 1.0))
        log_p = np.log(p)
    for t in np.geomspace(1e-6, 1e4, 100) / scale:
        log_mgf = float(np.sum(np.logaddexp(log_keep, log_p + t * k)))
        best = min(best, math.exp(min(0.0, log_mgf - t * at)))
    return best


def _size(p: FloatArray, k: np.ndarray) -> int | None:
    """The power-of-two FFT size that holds the total but for at most 1e-15; None if above
    :data:`MAX_SIZE`."""
    mean = float(np.sum(p * k))
    sd = math.sqrt(float(np.sum(p * (1 - p) * k.astype(np.float64) ** 2)))
    size = 1 << max(10, math.ceil(math.log2(max(2.0, 1.25 * (mean + 12 * sd) + 2))))
    while size <= MAX_SIZE:
        if _tail_bound(p, k, size) <= _WRAP:
            return size
        size <<= 1
    return None


def _pmf(p: FloatArray, k: np.ndarray, size: int) -> FloatArray | None:
    """The distribution of ``sum of k_b over hit buildings`` on ``0 .. size - 1``."""
    low = p <= _SERIES_P
    series = np.zeros(size)
    pl, kl = p[low], k[low]
    live = kl > 0
    pl, kl = pl[live], kl[live]
    constant = float(np.sum(np.log1p(-pl)))
    r = pl / (1 - pl)
    j = 1
    while len(r):
        term = (-1.0) ** (j + 1) * r**j / j
        keep = np.abs(term) > _TINY
        if not keep.any():
            break
        # on the N-th roots of unity z**(j k) is z**(j k mod N): the product, evaluated
        # exactly there; only the total's own mass beyond N folds back (the Chernoff bound)
        at = (j * kl[keep]) % size
        series += np.bincount(at, weights=term[keep], minlength=size)
        r, kl, j = r[keep], kl[keep], j + 1
    spectrum = np.exp(constant + np.fft.rfft(series))
    high, kh = p[~low], k[~low]
    likely = (high < 1.0) & (kh > 0)
    if np.count_nonzero(likely) > _MAX_FACTORS:
        return None
    frequencies = np.arange(len(spectrum))
    for q, value in zip(high[likely], kh[likely], strict=True):  # at most _MAX_FACTORS
        phase = np.exp(-2j * np.pi * ((value * frequencies) % size) / size)
        spectrum *= (1 - q) + q * phase
    pmf = np.fft.irfft(spectrum, n=size)
    return np.maximum(pmf, 0.0)


def aep_bounds(
    p: FloatArray, loss: FloatArray, return_periods: FloatArray, *, precision: float = 2.5e-4
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]] | None:
    """``((VaR, TVaR) lower, (VaR, TVaR) upper)`` of the period's total loss of independent
    buildings (``p``, loss if hit), at each return period. The lattice step is ``precision``
    of the mean loss of a hit, four times coarser at a time while the lattice would need more
    than :data:`MAX_SIZE` points (the bounds hold at any step; they are only wider); None
    beyond a step of 5 %."""
    keep = (p > 0) & (loss > 0)
    p, loss = p[keep], loss[keep]
    if len(p) == 0:
        zero = np.zeros(len(return_periods))
        return (zero, zero), (zero, zero)
    while precision <= _COARSEST:  # (a coarser lattice when a fine one is too large)
        found = _bounds(p, loss, return_periods, precision)
        if found is not None:
            return found
        precision *= 4
    return None


def _bounds(
    p: FloatArray, loss: FloatArray, return_periods: FloatArray, precision: float
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]] | None:
    h = precision * float(np.sum(p * loss)) / float(np.sum(p))
    found = []
    for up in (False, True):
        k = _lattice(loss, h, up)
        certain = p >= 1.0
        shift = int(np.sum(k[certain]))
        if certain.all():  # (every building hit every period: one possible total)
            found.append(distribution_tail(np.array([shift * h]), np.zeros(1), return_periods))
            continue
        size = _size(p[~certain], k[~certain])
        pmf = None if size is None else _pmf(p[~certain], k[~certain], size)
        if pmf is None or size is None:
            return None
        allowance = (size * math.log2(size) + 1) * 2.0**-52 + _WRAP
        exceed = np.concatenate([np.cumsum(pmf[::-1])[::-1][1:], [0.0]])
        exceed = np.clip(exceed + (allowance if up else -allowance), 0.0, 1.0)
        exceed[-1] = 0.0
        values = (np.arange(size, dtype=np.float64) + shift) * h
        found.append(distribution_tail(values, exceed, return_periods))
    return found[0], found[1]
