"""Which periods hit which building: only the hits are drawn, never buildings x periods.

Independent mode: a building hit with probability ``p`` in each period has
geometric gaps between hits, ``G = floor(log(u) / log(1 - p)) + 1``, so its
hits in ``n`` periods take about ``n * p`` draws (the ``k``-th gap is the
``k``-th draw of the building's stream). Shared mode: every building of a group
compares the group's one draw per period ``u`` with its own ``p`` (hit when
``u <= p``); the periods where the draw is below the group's largest ``p`` are
found once, sorted by draw, and each building's hits are the first of them,
found with a search.

Both functions take one slice of buildings and return ``(building, period)``
pairs (``building`` indexes the slice, periods count from 1); the caller keeps
each call under :data:`DRAW_BUDGET` draws so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vecloss.formulas import FloatArray
from vecloss.risk.draws import U64, UNIT, draws

__all__ = [
    "DRAW_BUDGET",
    "Candidates",
    "candidates",
    "expected_draws",
    "hits_among",
    "independent_hits",
    "thresholds",
]

IntArray = npt.NDArray[np.int64]

#: Draws (or hits) per call: temporaries of 512 KB each, which stay in the CPU's
#: cache (measured: larger slices are slower per draw).
DRAW_BUDGET = 1 << 16
_BIN = 1 << 54  # shared mode: group number above bit 54, the 53-bit draw below


def expected_draws(p: FloatArray, periods: int) -> FloatArray:
    """Draws a building needs in the first round: its mean hits plus three sd, at least 1."""
    mean = periods * p
    return np.minimum(np.ceil(mean + 3.0 * np.sqrt(mean * (1.0 - p)) + 2.0), periods)


def independent_hits(keys: U64, p: FloatArray, periods: int) -> tuple[IntArray, IntArray]:
    """Every ``(building, period)`` hit of independent buildings with streams ``keys``."""
    with np.errstate(divide="ignore"):
        scale = 1.0 / np.log1p(-p)  # -0.0 for p = 1: every gap is 1
    active = np.flatnonzero(p > 0)
    last = np.zeros(len(active), dtype=np.int64)  # the period of the latest hit
    used = np.zeros(len(active), dtype=np.int64)  # draws taken from each stream
    found: list[tuple[IntArray, IntArray]] = []
    while len(active):
        take = np.minimum(expected_draws(p[active], periods), periods - last).astype(np.int64)
        ends = np.cumsum(take)
        begins = ends - take
        count = int(ends[-1])
        # The k-th draw of a stream is its counter k (from 1): (row - begin) + used + 1.
        counter = np.arange(count, dtype=np.int64)
        counter -= np.repeat(begins - used - 1, take)
        u = draws(np.repeat(keys[active], take), counter.view(np.uint64)).astype(np.float64)
        u += 1.0
        u *= UNIT  # in (0, 1]
        np.log(u, out=u)
        u *= np.repeat(scale[active], take)
        np.minimum(u, periods, out=u)
        when = u.astype(np.int64)  # the gap less one: floor of a number >= 0
        when += 1
        np.cumsum(when, out=when)
        before = np.zeros(len(active), dtype=np.int64)
        before[1:] = when[begins[1:] - 1]
        when -= np.repeat(before - last, take)
        hit = when <= periods
        found.append((np.repeat(active, take)[hit], when[hit]))
        latest = when[ends - 1]
        going = latest < periods
        active, last, used = active[going], latest[going], used[going] + take[going]
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def thresholds(p: FloatArray) -> U64:
    """``T`` with ``u <= p`` exactly when the 53-bit draw ``U < T``: ``floor(p * 2**53)``."""
    return np.floor(p * 2.0**53).astype(np.uint64)


@dataclass(frozen=True)
class Candidates:
    """The periods where a group's draw is below its largest ``p``, sorted by group then draw."""

    key: U64  # group number * 2**54 + the 53-bit draw, increasing
    period: IntArray  # the period of each, from 1
    starts: IntArray  # where each group's run begins


def candidates(group_keys: U64, top: U64, periods: int) -> Candidates:
    """Draw every period of each group (at most 1,024 groups) and keep those below ``top``."""
    counters = np.arange(1, periods + 1, dtype=np.uint64)
    u = draws(group_keys[:, None], counters[None, :])
    rows, cols = np.nonzero(u < top[:, None])
    key = rows.astype(np.uint64) * np.uint64(_BIN) + u[rows, cols]
    order = np.argsort(key, kind="stable")
    starts = np.searchsorted(key[order], np.arange(len(group_keys), dtype=np.uint64) * _BIN)
    return Candidates(key[order], cols[order].astype(np.int64) + 1, starts.astype(np.int64))


def hits_among(found: Candidates, group: IntArray, p: FloatArray) -> tuple[IntArray, IntArray]:
    """Each building's hits: the first candidates of its group, those with a draw below ``p``."""
    limit = thresholds(p)
    first = found.starts[group]
    counts = np.searchsorted(found.key, group.astype(np.uint64) * np.uint64(_BIN) + limit) - first
    building = np.repeat(np.arange(len(p)), counts)
    offsets = np.cumsum(counts) - counts
    position = np.repeat(first - offsets, counts) + np.arange(len(building))
    return building, found.period[position]
