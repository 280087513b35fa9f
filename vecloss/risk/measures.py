"""Tail measures: VaR and TVaR at return periods, from simulated periods or from a distribution.

Simulated (``N`` period losses): the ``k``-th largest has return period ``N / k``;
VaR at ``R`` is the ``(N / R)``-th largest, TVaR the mean of the ``N / R`` largest.
Between ranks both are interpolated linearly in the return period, as OasisLMF
does for VaR. Exact (a discrete distribution): VaR at ``R`` is the smallest
loss ``x`` with ``P(L > x) <= 1 / R``; TVaR is the mean over the worst ``1 / R``
of probability, an atom at the VaR counted only for the share inside it.
"""

from __future__ import annotations

import numpy as np

from vecloss.formulas import FloatArray

__all__ = [
    "Z95",
    "distribution_tail",
    "empirical_curve",
    "moments",
    "order_band",
    "sample_tail",
    "sample_tail_intervals",
]

#: z of a two-sided 95 % interval of a normal distribution.
Z95 = 1.959963984540054

_TOLERANCE = 1e-12  # exceedance probabilities are sums of floats: a jump stays a jump


def moments(periods: FloatArray) -> tuple[float, float, float]:
    """Mean, standard deviation (ddof=1) and standard error of the mean of period losses."""
    n = len(periods)
    mean = float(periods.mean())
    sd = float(periods.std(ddof=1)) if n > 1 else 0.0
    return mean, sd, sd / float(np.sqrt(n))


def sample_tail(periods: FloatArray, return_periods: FloatArray) -> tuple[FloatArray, FloatArray]:
    """VaR and TVaR of ``N`` simulated period losses at each return period (1 <= R <= N)."""
    return _tail(np.sort(periods)[::-1], return_periods)


def _tail(ordered: FloatArray, return_periods: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`sample_tail` of period losses already in decreasing order."""
    n = len(ordered)
    tvar = np.cumsum(ordered) / np.arange(1, n + 1)
    rank = n / return_periods  # in [1, N]
    low = np.floor(rank + 1e-9).astype(np.int64)  # rank of the next larger return period
    high = np.minimum(low + 1, n)
    rp_low, rp_high = n / low, n / high
    span = rp_low - rp_high
    weight = np.divide(
        return_periods - rp_high, span, out=np.ones_like(span), where=span > 0
    )  # 1 on a rank: the loss of that rank
    on_rank = np.isclose(rank, low, rtol=0, atol=1e-9)
    weight[on_rank] = 1.0

    def at(values: FloatArray) -> FloatArray:
        return np.asarray(values[high - 1] + weight * (values[low - 1] - values[high - 1]))

    return at(ordered), at(tvar)


def order_band(
    ordered: FloatArray, rank: FloatArray, z: float = Z95
) -> tuple[FloatArray, FloatArray]:
    """A distribution-free interval of the loss at each ``rank`` (``N/R``, from 1) of ``N``
    period losses in decreasing order: the count of periods above the true loss at ``R`` is
    Binomial(N, 1/R), so the interval runs between the order statistics at ranks
    ``N/R -+ z sqrt(N q (1 - q))``, ``q = 1/R``, rounded outward. (Low, high.)"""
    n = len(ordered)
    q = rank / n
    spread = z * np.sqrt(n * q * (1 - q))
    low_rank = np.clip(np.ceil(rank + spread - 1e-9).astype(np.int64), 1, n)
    high_rank = np.clip(np.floor(rank - spread + 1e-9).astype(np.int64), 1, n)
    return ordered[low_rank - 1], ordered[high_rank - 1]


def sample_tail_intervals(
    periods: FloatArray, return_periods: FloatArray, z: float = Z95
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`sample_tail`'s VaR and TVaR with their 95 % intervals (by default), from one
    sort of the period losses: VaR, TVaR, VaR low, VaR high, TVaR low, TVaR high.

    VaR: :func:`order_band` (distribution-free). TVaR: the asymptotic normal interval of the
    empirical expected shortfall (Chen, 2008, "Nonparametric estimation of expected
    shortfall", J. Financial Econometrics 6(1)): variance ``(s^2 + (1 - q) (TVaR - VaR)^2) /
    (N q)`` with ``s^2`` the variance of the losses beyond the VaR. Both are checked by their
    coverage over seeds (tests).
    """
    ordered = np.sort(periods)[::-1]
    var, tvar = _tail(ordered, return_periods)
    q = 1.0 / return_periods
    rank = len(ordered) * q
    var_low, var_high = order_band(ordered, rank, z)
    tail_var = np.array(
        [float(ordered[: max(int(k), 1)].var(ddof=1)) if int(k) > 1 else 0.0 for k in rank]
    )  # (one step per return period)
    se = np.sqrt((tail_var + (1 - q) * (tvar - var) ** 2) / np.maximum(rank, 1.0))
    half = z * se + 1e-12 * np.abs(tvar)  # (and the rounding of the mean: a tail of one atom)
    return var, tvar, var_low, var_high, tvar - half, tvar + half


def distribution_tail(
    values: FloatArray, exceed: FloatArray, return_periods: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """VaR and TVaR of a discrete loss at each return period.

    ``values`` are the atoms in increasing order, the first one 0 (or the
    smallest possible loss); ``exceed[i]`` is ``P(L > values[i])``, the last 0. Atoms of
    no probability are dropped first: at a return period of 1 the VaR is the smallest
    possible loss, never a 0 that cannot happen (issue "risk, second step", item 1).
    """
    alpha = 1.0 / return_periods
    mass = np.diff(np.concatenate([[1.0], exceed]))  # -P(L = values[i])
    possible = mass < 0  # atoms of no probability (the 0 beside a building hit every year)
    values, exceed, mass = values[possible], exceed[possible], mass[possible]
    beyond = np.concatenate([np.cumsum((-mass * values)[::-1])[::-1][1:], [0.0]])
    index = np.argmax(exceed[None, :] <= alpha[:, None] * (1 + _TOLERANCE), axis=1)
    var = values[index]
    tvar = (beyond[index] + var * (alpha - exceed[index])) / alpha
    return var, tvar


def empirical_curve(losses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return periods, losses and a 95 % band for each rank of ``losses`` (one per period):
    the k-th largest of N is the loss at N/k years; its band, the order statistics around it
    (:func:`order_band`, as the EP table's VaR intervals)."""
    ordered = np.sort(losses)[::-1]
    ranks = np.arange(1, len(ordered) + 1, dtype=np.float64)
    low, high = order_band(ordered, ranks)
    return len(ordered) / ranks, ordered, low, high
