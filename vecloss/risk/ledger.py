"""The year-loss table, summed exactly: the same bits whatever the order of the hits.

Each period's loss is kept in fixed point, as an integer number of
:data:`QUANTUM` (2**-32, about 2.3e-10 currency units) split into four 32-bit
limbs held in int64 (:data:`LIMBS`). A building's loss is rounded to the
quantum once; from then on every addition is an integer addition, exact and
associative, so a period's loss does not depend on how the buildings were
batched, on which worker saw them, or on their order. Carries move up before
any limb could overflow (after at most 2**30 additions). A building loss of
2**96 (7.9e28) or more is out of range and refused.

Cells are what a ledger sums: a ``by`` group (independent mode) or a
``(by, shared_by)`` pair (shared mode), named by a 64-bit key of their values.
Each cell also keeps the largest single hit of each period (the occurrence loss
in independent mode).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vecloss.exceptions import InputError
from vecloss.formulas import FloatArray

__all__ = ["LIMBS", "QUANTUM", "Cells", "Ledger", "limbs_of"]

LIMBS = 4
QUANTUM = 2.0**-32
_BITS = 32
_MASK = np.int64((1 << _BITS) - 1)
LIMIT = 2.0**96
_HEADROOM = 1 << 30  # additions of a limb (< 2**32) an int64 takes before a carry is due
IntArray = npt.NDArray[np.int64]


def limbs_of(loss: FloatArray, source: str = "portfolio") -> tuple[FloatArray, IntArray]:
    """The loss rounded to the quantum, and its limbs (int64, shape ``(LIMBS, n)``)."""
    if len(loss) and not float(loss.max()) < LIMIT:
        msg = (
            f"{source}: a building loss of {float(loss.max()):.3g} is beyond the simulation's "
            f"range ({LIMIT:.3g}); hint: check the units of construction_cost and floor_area, "
            "or use exact=True (--exact), which has no such limit"
        )
        raise InputError(msg)
    whole = np.rint(loss * 2.0**_BITS)
    rounded = whole * QUANTUM
    limbs = np.empty((LIMBS, len(loss)), dtype=np.int64)
    rest = whole
    for k in range(LIMBS - 1, -1, -1):  # four limbs, each exact in float64
        scale = 2.0 ** (_BITS * k)
        high = np.floor(rest / scale)
        limbs[k] = high
        rest = rest - high * scale
    return rounded, limbs


@dataclass
class Cells:
    """Cells named by 64-bit keys: each key's row (in order of first sight) and its label."""

    keys: dict[int, int] = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)

    def rows_for(self, keys: npt.NDArray[np.uint64], labels: list[Any]) -> IntArray:
        """The row of each key; ``labels`` name the distinct keys in increasing order."""
        distinct, inverse = np.unique(keys, return_inverse=True)
        rows = np.empty(len(distinct), dtype=np.int64)
        for i, key in enumerate(distinct.tolist()):  # one step per cell, not per building
            if key not in self.keys:
                self.keys[key] = len(self.labels)
                self.labels.append(labels[i])
            rows[i] = self.keys[key]
        return rows[inverse.reshape(-1)]

    def merge_rows(self, other: Cells) -> IntArray:
        """Add ``other``'s cells; the row here of each of its rows."""
        keys = np.fromiter(other.keys, dtype=np.uint64, count=len(other.keys))
        at = np.fromiter(other.keys.values(), dtype=np.int64, count=len(other.keys))
        rows = self.rows_for(keys, [other.labels[i] for i in at[np.argsort(keys)]])
        mine = np.empty(len(other.labels), dtype=np.int64)
        mine[at] = rows
        return mine


def _size(count: float) -> str:
    return f"{count / (1 << 30):,.1f} GiB" if count >= 1 << 30 else f"{count / (1 << 20):,.0f} MiB"


#: GiB the period ledger may take (``VECLOSS_LEDGER_GIB``): its rows are groups (cells) and
#: its columns periods, 8 bytes each in every array (two or more limbs and the largest hit).
LEDGER_GIB = 4.0


@dataclass
class Ledger:
    """Per cell and period: the exact sum of hits (limbs) and the largest hit.

    The limbs above the second are allocated only when a loss or a carry needs
    them: a period sum below 2**32 currency units takes 24 bytes per cell and
    period (two limbs and the largest hit).
    """

    periods: int
    cells: Cells = field(default_factory=Cells)
    limbs: list[IntArray | None] = field(init=False)  # each (capacity, periods)
    largest: FloatArray = field(init=False)  # (capacity, periods)
    _pending: int = 0  # additions since the last carry

    def __post_init__(self) -> None:
        self.limbs = [np.zeros((0, self.periods), np.int64)] * 2 + [None] * (LIMBS - 2)
        self.largest = np.zeros((0, self.periods))

    @property
    def count(self) -> int:
        return len(self.cells.labels)

    def _limb(self, k: int) -> IntArray:
        limb = self.limbs[k]
        if limb is None:
            limb = self.limbs[k] = np.zeros(self.largest.shape, np.int64)
        return limb

    def _check_room(self, size: int) -> None:
        """Refuse, with the figures and what to change, a ledger past the memory budget
        (risk issue, item 7: 50,000 groups x 10,000 periods died with a MemoryError)."""
        arrays = 1 + sum(limb is not None for limb in self.limbs)
        need = size * self.periods * 8 * arrays
        budget = float(os.environ.get("VECLOSS_LEDGER_GIB", LEDGER_GIB)) * (1 << 30)
        if need > budget:
            msg = (
                f"{self.count:,} groups (cells of --by and --shared-by) x {self.periods:,} periods"
                f" need about {_size(need)} of period ledger, past the "
                f"{_size(budget)} budget (VECLOSS_LEDGER_GIB); hint: group by a "
                "coarser column, simulate fewer periods (or damage samples: each takes as many "
                "again), or compute exactly (--exact), which "
                "keeps no ledger"
            )
            raise InputError(msg)

    def rows_for(self, keys: npt.NDArray[np.uint64], labels: list[Any]) -> IntArray:
        """The row of each cell key, new cells added (see :meth:`Cells.rows_for`)."""
        rows = self.cells.rows_for(keys, labels)
        have = self.largest.shape[0]
        if self.count > have:
            size = max(self.count, 2 * have)
            self._check_room(size)
            for k, limb in enumerate(self.limbs):
                if limb is not None:
                    grown = np.zeros((size, self.periods), np.int64)
                    grown[:have] = limb
                    self.limbs[k] = grown
            grown_largest = np.zeros((size, self.periods))
            grown_largest[:have] = self.largest
            self.largest = grown_largest
        return rows

    def add(
        self,
        rows: IntArray,
        loss: FloatArray,
        limbs: IntArray,
        building: IntArray,
        period: IntArray,
    ) -> None:
        """Add hits: ``building`` indexes ``rows`` (its cell), ``loss`` (rounded) and ``limbs``;
        ``period`` counts from 1."""
        if len(building) == 0:
            return
        if self._pending + len(building) > _HEADROOM:
            self.carry()
        self._pending += len(building)
        flat = rows[building] * self.periods + (period - 1)
        for k in range(LIMBS):
            if limbs[k].any():
                np.add.at(self._limb(k).reshape(-1), flat, limbs[k][building])
        np.maximum.at(self.largest.reshape(-1), flat, loss[building])

    def carry(self) -> None:
        """Move each limb's overflow up, leaving every limb below 2**32."""
        used = self.count
        for k in range(LIMBS - 1):
            limb = self.limbs[k]
            if limb is None:
                continue
            up = limb[:used] >> _BITS
            if up.any():
                self._limb(k + 1)[:used] += up
                limb[:used] &= _MASK
        top = self.limbs[LIMBS - 1]
        if top is not None and (top[:used] >= 1 << 62).any():
            msg = "a period loss beyond 2**126 quanta (about 2e28): out of the ledger's range"
            raise InputError(msg)
        self._pending = 0

    def merge(self, other: Ledger) -> None:
        """Add another ledger's cells (exact; the result does not depend on the order)."""
        if not other.count:
            return
        self.carry()
        other.carry()
        rows = self.cells.merge_rows(other.cells)
        self.rows_for(np.zeros(0, np.uint64), [])  # grow to the new count
        for k, limb in enumerate(other.limbs):
            if limb is not None and limb[: other.count].any():
                self._limb(k)[rows] += limb[: other.count]  # rows are distinct
        self.largest[rows] = np.maximum(self.largest[rows], other.largest[: other.count])
        self.carry()

    def values(self) -> FloatArray:
        """Each cell's period losses as floats, shape ``(cells, periods)``."""
        self.carry()
        used = self.count
        total = np.zeros((used, self.periods))
        for k in range(LIMBS - 1, -1, -1):  # Horner, from the top limb down
            total *= 2.0**_BITS
            limb = self.limbs[k]
            if limb is not None:
                total += limb[:used]
        return np.asarray(total * QUANTUM)

    def maxima(self) -> FloatArray:
        """Each cell's largest hit per period, shape ``(cells, periods)``."""
        return self.largest[: self.count]

    def grouped(
        self, group: IntArray, count: int, *, events_are_cells: bool
    ) -> tuple[FloatArray, FloatArray]:
        """Period losses and largest event losses of ``count`` groups of cells.

        ``group`` maps each cell to its group (every group has a cell). A group's
        period loss is summed exactly from its cells' limbs. Its largest event
        loss is the largest of its cells' period losses when each cell is one
        event (shared mode), else the largest single hit.
        """
        self.carry()
        order = np.argsort(group, kind="stable")
        starts = np.searchsorted(group[order], np.arange(count))
        whole = Ledger(self.periods)
        whole.cells = Cells(labels=[None] * count)
        whole.largest = np.zeros((count, self.periods))
        events = self.values() if events_are_cells else self.maxima()
        if len(group) == count:  # one cell per group: a reordering
            for k, limb in enumerate(self.limbs):
                whole.limbs[k] = None if limb is None else limb[order]
            return whole.values(), events[order]
        for k, limb in enumerate(self.limbs):
            if limb is not None:
                whole.limbs[k] = np.add.reduceat(limb[order], starts, axis=0)
        return whole.values(), np.maximum.reduceat(events[order], starts, axis=0)
