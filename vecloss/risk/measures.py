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

__all__ = ["distribution_tail", "moments", "sample_tail"]

_TOLERANCE = 1e-12  # exceedance probabilities are sums of floats: a jump stays a jump


def moments(periods: FloatArray) -> tuple[float, float, float]:
    """Mean, standard deviation (ddof=1) and standard error of the mean of period losses."""
    n = len(periods)
    mean = float(periods.mean())
    sd = float(periods.std(ddof=1)) if n > 1 else 0.0
    return mean, sd, sd / float(np.sqrt(n))


def sample_tail(periods: FloatArray, return_periods: FloatArray) -> tuple[FloatArray, FloatArray]:
    """VaR and TVaR of ``N`` simulated period losses at each return period (1 <= R <= N)."""
    n = len(periods)
    ordered = np.sort(periods)[::-1]
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
