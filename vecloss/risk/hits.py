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

import numpy as np
import numpy.typing as npt

from vecloss.formulas import FloatArray
from vecloss.risk.draws import U64, UNIT, draws

__all__ = ["DRAW_BUDGET", "expected_draws", "independent_hits", "shared_hits"]

IntArray = npt.NDArray[np.int64]

#: Draws (or hits) per call: about 64 MB of temporaries, and few enough hits per
#: period that the ledger's float sums stay exact (see :mod:`vecloss.risk.ledger`).
DRAW_BUDGET = 1 << 20
_BIN = 1 << 54  # shared mode: group number above bit 54, the 53-bit draw below


def expected_draws(p: FloatArray, periods: int) -> FloatArray:
    """Draws a building needs in the first round: its mean hits plus three sd, at least 1."""
    mean = periods * p
    return np.minimum(np.ceil(mean + 3.0 * np.sqrt(mean * (1.0 - p)) + 2.0), periods)


def independent_hits(keys: U64, p: FloatArray, periods: int) -> tuple[IntArray, IntArray]:
    """Every ``(building, period)`` hit of independent buildings with streams ``keys``."""
    with np.errstate(divide="ignore"):
        log_q = np.log1p(-p)  # -inf for p = 1: every gap is 1
    active = np.flatnonzero(p > 0)
    last = np.zeros(len(active), dtype=np.int64)  # the period of the latest hit
    used = np.zeros(len(active), dtype=np.uint64)  # draws taken from each stream
    found: list[tuple[IntArray, IntArray]] = []
    while len(active):
        left = periods - last
        take = np.minimum(expected_draws(p[active], periods), left).astype(np.int64)
        seg = np.repeat(np.arange(len(active)), take)
        begins = np.cumsum(take) - take
        counter = used[seg] + (np.arange(len(seg)) - begins[seg]).astype(np.uint64)
        u = (draws(keys[active][seg], counter + np.uint64(1)) + np.uint64(1)) * UNIT
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(u) / log_q[active][seg]
        gap = np.floor(np.minimum(ratio, periods)).astype(np.int64) + 1
        steps = np.cumsum(gap)
        before = np.concatenate([[0], steps[begins[1:] - 1]]) if len(begins) else begins
        when = steps - np.repeat(before - last, take)
        hit = when <= periods
        found.append((active[seg[hit]], when[hit]))
        ends = when[begins + take - 1]
        going = ends < periods
        active, last, used = active[going], ends[going], used[going] + take[going].astype(np.uint64)
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def thresholds(p: FloatArray) -> U64:
    """``T`` with ``u <= p`` exactly when the 53-bit draw ``U < T``: ``floor(p * 2**53)``."""
    return np.floor(p * 2.0**53).astype(np.uint64)


def shared_hits(
    group_keys: U64, group: IntArray, p: FloatArray, periods: int
) -> tuple[IntArray, IntArray]:
    """Every ``(building, period)`` hit when buildings of a group share one draw per period.

    ``group_keys`` holds one stream key per group (at most 1,024 groups per
    call); ``group`` gives each building's group number.
    """
    limit = thresholds(p)
    top = np.zeros(len(group_keys), dtype=np.uint64)
    np.maximum.at(top, group, limit)
    counters = np.arange(1, periods + 1, dtype=np.uint64)
    u = draws(group_keys[:, None], counters[None, :])
    rows, cols = np.nonzero(u < top[:, None])
    order_key = rows.astype(np.uint64) * np.uint64(_BIN) + u[rows, cols]
    order = np.argsort(order_key, kind="stable")
    sorted_key, when = order_key[order], cols[order].astype(np.int64) + 1
    starts = np.searchsorted(sorted_key, np.arange(len(group_keys), dtype=np.uint64) * _BIN)
    base = group.astype(np.uint64) * np.uint64(_BIN)
    counts = np.searchsorted(sorted_key, base + limit) - starts[group]
    building = np.repeat(np.arange(len(p)), counts)
    first = np.cumsum(counts) - counts
    position = starts[group][building] + np.arange(len(building)) - first[building]
    return building, when[position]
