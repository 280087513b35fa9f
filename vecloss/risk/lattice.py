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

Shared draws (``cell``): the buildings of one comonotone cell are one event whose loss is
``C_j`` (the sum of the ``j`` most likely buildings' losses) with probability ``m_j``; each
``C_j`` is rounded as a building's ``S`` is (so again lower <= true <= upper in every outcome),
and the cell's generating function ``(1 - sum m) + sum m_j z**k_j`` multiplies the spectrum
as its own real FFT (at most :data:`MAX_CELL_WORK` points of FFT in all, cells times ``N``).

The FFT size ``N`` is a power of two with ``P(upper total >= N) <= 1e-15`` by a Chernoff bound
(``E[exp(t L)] exp(-t N)``, at the best of 100 values of ``t``), so the wrap-around of the
circular convolution moves at most that much probability. Rounding in the FFT is allowed for
with an allowance of ``(N log2 N (1 + c) + 1) * 2**-52`` on every exceedance probability
(``c`` the cells of several buildings, each one more FFT and product): the lower
curve reads ``P(L > x)`` that much lower, the upper that much higher. The step is chosen so
that the expected number of hits times ``h`` is ``precision`` of the expected total (coarser
when one building's loss dwarfs the others': the bounds hold at any step, only wider).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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
#: The most FFT points the cells of shared draws may take in all (cells of two or more
#: buildings times the lattice's size): 2**28, some 10 s here.
MAX_CELL_WORK = 1 << 28


def _lattice(loss: FloatArray, h: float, up: bool) -> np.ndarray:
    """``floor(S / h)`` (or ``ceil``), corrected so that ``k h <= S`` (``>=``) in floats too."""
    k = (np.ceil if up else np.floor)(loss / h)
    if up:
        return np.where(k * h < loss, k + 1, k).astype(np.int64)
    return np.where(k * h > loss, k - 1, k).astype(np.int64)


@dataclass(frozen=True)
class _Cells:
    """The events of several atoms (shared draws): rows sorted by cell, each row an atom of
    mass ``m`` at lattice point ``k``; ``starts`` the first row of each cell."""

    m: FloatArray
    k: np.ndarray
    starts: np.ndarray

    @property
    def rest(self) -> FloatArray:
        """Each cell's probability of no loss."""
        return np.asarray(np.maximum(1.0 - np.add.reduceat(self.m, self.starts), 0.0))

    def log_mgf(self, t: float) -> float:
        """``sum over cells of log E[exp(t K)]``, each a log-sum-exp over its atoms and 0."""
        if not len(self.starts):
            return 0.0
        with np.errstate(divide="ignore"):
            x = np.log(self.m) + t * self.k
            rest = np.log(self.rest)
        top = np.maximum(np.maximum.reduceat(x, self.starts), rest)
        counts = np.diff(np.append(self.starts, len(x)))
        inside = np.add.reduceat(np.exp(x - np.repeat(top, counts)), self.starts)
        return float(np.sum(top + np.log(inside + np.exp(rest - top))))

    def moments(self) -> tuple[float, float]:
        """Mean and variance of the cells' lattice total."""
        k = self.k.astype(np.float64)
        mean = np.add.reduceat(self.m * k, self.starts) if len(self.starts) else np.zeros(0)
        square = np.add.reduceat(self.m * k * k, self.starts) if len(self.starts) else mean
        return float(mean.sum()), float(np.sum(square - mean**2))


_NO_CELLS = _Cells(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _tail_bound(p: FloatArray, k: np.ndarray, at: float, cells: _Cells = _NO_CELLS) -> float:
    """A Chernoff bound on ``P(sum of k_b over hit buildings (and the cells' k) >= at)``."""
    weights = np.concatenate([p, cells.m])
    scale = max(1.0, float(np.average(np.concatenate([k, cells.k]), weights=weights)))
    best = 1.0
    with np.errstate(divide="ignore"):
        log_keep = np.log1p(-np.minimum(p, 1.0))
        log_p = np.log(p)
    for t in np.geomspace(1e-6, 1e4, 100) / scale:
        log_mgf = float(np.sum(np.logaddexp(log_keep, log_p + t * k))) + cells.log_mgf(t)
        best = min(best, math.exp(min(0.0, log_mgf - t * at)))
    return best


def _size(p: FloatArray, k: np.ndarray, cells: _Cells = _NO_CELLS) -> int | None:
    """The power-of-two FFT size that holds the total but for at most 1e-15; None if above
    :data:`MAX_SIZE`."""
    cell_mean, cell_var = cells.moments()
    mean = float(np.sum(p * k)) + cell_mean
    sd = math.sqrt(float(np.sum(p * (1 - p) * k.astype(np.float64) ** 2)) + cell_var)
    size = 1 << max(10, math.ceil(math.log2(max(2.0, 1.25 * (mean + 12 * sd) + 2))))
    while size <= MAX_SIZE:
        if _tail_bound(p, k, size, cells) <= _WRAP:
            return size
        size <<= 1
    return None


def _pmf(p: FloatArray, k: np.ndarray, size: int, cells: _Cells = _NO_CELLS) -> FloatArray | None:
    """The distribution of ``sum of k_b over hit buildings`` (and of the cells' ``k``) on
    ``0 .. size - 1``."""
    low = p <= _SERIES_P
    pl, kl = p[low], k[low]
    live = kl > 0
    pl, kl = pl[live], kl[live]
    constant = float(np.sum(np.log1p(-pl)))
    r = pl / (1 - pl)
    points, terms = [], []  # (summed by one bincount: a pass per j over N points took ~1 s)
    j = 1
    while len(r):
        term = (-1.0) ** (j + 1) * r**j / j
        keep = np.abs(term) > _TINY
        if not keep.any():
            break
        # on the N-th roots of unity z**(j k) is z**(j k mod N): the product, evaluated
        # exactly there; only the total's own mass beyond N folds back (the Chernoff bound)
        points.append((j * kl[keep]) % size)
        terms.append(term[keep])
        r, kl, j = r[keep], kl[keep], j + 1
    at = np.concatenate(points) if points else np.zeros(0, dtype=np.int64)
    weights = np.concatenate(terms) if terms else np.zeros(0)
    series = np.bincount(at, weights=weights, minlength=size)
    del at, weights, points, terms
    spectrum = np.fft.rfft(series)  # (arrays of N points updated in place from here: each
    del series  # new one costs its page faults, ~0.1 s for the largest lattice here)
    spectrum += constant
    np.exp(spectrum, out=spectrum)
    high, kh = p[~low], k[~low]
    likely = (high < 1.0) & (kh > 0)
    if np.count_nonzero(likely) > _MAX_FACTORS:
        return None
    frequencies = np.arange(len(spectrum))
    for q, value in zip(high[likely], kh[likely], strict=True):  # at most _MAX_FACTORS
        phase = np.exp(-2j * np.pi * ((value * frequencies) % size) / size)
        spectrum *= (1 - q) + q * phase
    ends = np.append(cells.starts[1:], len(cells.k))[: len(cells.starts)]
    rests = cells.rest if len(cells.starts) else ends
    for begin, end, rest in zip(cells.starts, ends, rests, strict=True):  # one per cell
        own = np.bincount(cells.k[begin:end] % size, weights=cells.m[begin:end], minlength=size)
        own[0] += rest
        spectrum *= np.fft.rfft(own)
    pmf = np.fft.irfft(spectrum, n=size)
    del spectrum
    return np.maximum(pmf, 0.0, out=pmf)


def aep_bounds(
    p: FloatArray,
    loss: FloatArray,
    return_periods: FloatArray,
    *,
    precision: float = 2.5e-4,
    cell: np.ndarray | None = None,
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]] | None:
    """``((VaR, TVaR) lower, (VaR, TVaR) upper)`` of the period's total loss of independent
    buildings (``p``, loss if hit), at each return period. With ``cell`` (sorted: one value
    per row), the rows of a cell are the outcomes of one event (shared draws): loss
    ``loss[j]`` with probability ``p[j]``, 0 with the rest. The lattice step is
    ``precision`` of the mean loss of an event, four times coarser at a time while the
    lattice would need more than :data:`MAX_SIZE` points (the bounds hold at any step; they
    are only wider); None beyond a step of 5 %, or past :data:`MAX_CELL_WORK`."""
    keep = (p > 0) & (loss > 0)
    p, loss = p[keep], loss[keep]
    cell = np.arange(len(p)) if cell is None else np.asarray(cell)[keep]
    if len(p) == 0:
        zero = np.zeros(len(return_periods))
        return (zero, zero), (zero, zero)
    while precision <= _COARSEST:  # (a coarser lattice when a fine one is too large)
        found = _bounds(p, loss, return_periods, precision, cell)
        if found is not None:
            return found
        precision *= 4
    return None


def _bounds(
    p: FloatArray, loss: FloatArray, return_periods: FloatArray, precision: float, cell: Any
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]] | None:
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(cell)))
    alone = np.repeat(counts == 1, counts)  # the rows of one-building events
    many = np.flatnonzero(~alone)  # the rows of cells of several buildings
    cell_starts = np.flatnonzero(first[many])
    if len(cell_starts) * (1 << 10) > MAX_CELL_WORK:
        return None
    p1 = p[alone]
    certain = p1 >= 1.0
    h = precision * float(np.sum(p * loss)) / float(np.sum(p))  # (the mean loss of an event)
    found = []
    for up in (False, True):  # the lower lattice, then the upper
        k = _lattice(loss, h, up)
        cells = _Cells(p[many], k[many], cell_starts)
        k1 = k[alone]
        shift = int(np.sum(k1[certain]))
        if certain.all() and not len(cells.starts):  # (one possible total)
            found.append(distribution_tail(np.array([shift * h]), np.zeros(1), return_periods))
            continue
        size = _size(p1[~certain], k1[~certain], cells)
        if size is not None and len(cells.starts) * size > MAX_CELL_WORK:
            return None
        pmf = None if size is None else _pmf(p1[~certain], k1[~certain], size, cells)
        if pmf is None or size is None:
            return None
        rounding = size * math.log2(size) * (1 + len(cells.starts))
        allowance = (rounding + 1) * 2.0**-52 + _WRAP
        exceed = np.cumsum(pmf[::-1])[::-1]  # (then P(total > x): one place on, in place)
        del pmf
        exceed[:-1] = exceed[1:]
        exceed += allowance if up else -allowance
        np.clip(exceed, 0.0, 1.0, out=exceed)
        exceed[-1] = 0.0
        values = np.arange(size, dtype=np.float64)
        values += shift
        values *= h
        found.append(distribution_tail(values, exceed, return_periods))
    return found[0], found[1]
