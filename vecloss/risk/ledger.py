"""The year-loss table, summed exactly: the same bits whatever the order of the hits.

Each period's loss is kept in fixed point, as an integer number of
:data:`QUANTUM` (2**-32, about 2.3e-10 currency units) split into four 32-bit
limbs held in int64 (:data:`LIMBS`). A building's loss is rounded to the
quantum once; from then on every addition is exact, so a period's loss does not
depend on how the buildings were batched, on which worker saw them, or on their
order: integer sums are associative. Within one call, the limbs are summed with
``np.bincount`` in float64, which is exact because each limb is below 2**32 and
a call adds fewer than 2**21 of them per period; the carries are then moved up.
A building loss of 2**96 (7.9e28) or more is out of range and refused.

Cells are what a ledger sums: a ``by`` group (independent mode) or a
``(by, shared_by)`` pair (shared mode), named by a 64-bit key of their values.
Each cell also keeps the largest single hit of each period (the occurrence loss
in independent mode).
"""

from __future__ import annotations

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


def limbs_of(loss: FloatArray, source: str = "portfolio") -> tuple[FloatArray, FloatArray]:
    """The loss rounded to the quantum, and its limbs (shape ``(LIMBS, n)``, whole floats)."""
    if len(loss) and not float(loss.max()) < LIMIT:
        msg = (
            f"{source}: a building loss of {float(loss.max()):.3g} is beyond the simulation's "
            f"range ({LIMIT:.3g}); hint: check the units of construction_cost and floor_area"
        )
        raise InputError(msg)
    whole = np.rint(loss * 2.0**_BITS)
    rounded = whole * QUANTUM
    limbs = np.empty((LIMBS, len(loss)))
    rest = whole
    for k in range(LIMBS - 1, -1, -1):
        scale = 2.0 ** (_BITS * k)
        limbs[k] = np.floor(rest / scale)
        rest = rest - limbs[k] * scale
    return rounded, limbs


@dataclass
class Cells:
    """Cells named by 64-bit keys: each key's row (in order of first sight) and its label."""

    keys: dict[int, int] = field(default_factory=dict)
    labels: list[Any] = field(default_factory=list)

    def rows_for(self, keys: npt.NDArray[np.uint64], labels: list[Any]) -> npt.NDArray[np.int64]:
        """The row of each key; ``labels`` name the distinct keys in increasing order."""
        distinct, inverse = np.unique(keys, return_inverse=True)
        rows = np.empty(len(distinct), dtype=np.int64)
        for i, key in enumerate(distinct.tolist()):  # one step per cell, not per building
            if key not in self.keys:
                self.keys[key] = len(self.labels)
                self.labels.append(labels[i])
            rows[i] = self.keys[key]
        return rows[inverse.reshape(-1)]

    def merge_rows(self, other: Cells) -> npt.NDArray[np.int64]:
        """Add ``other``'s cells; the row here of each of its rows."""
        keys = np.fromiter(other.keys, dtype=np.uint64, count=len(other.keys))
        at = np.fromiter(other.keys.values(), dtype=np.int64, count=len(other.keys))
        rows = self.rows_for(keys, [other.labels[i] for i in at[np.argsort(keys)]])
        mine = np.empty(len(other.labels), dtype=np.int64)
        mine[at] = rows
        return mine


@dataclass
class Ledger:
    """Per cell and period: the exact sum of hits (limbs) and the largest hit."""

    periods: int
    cells: Cells = field(default_factory=Cells)
    sums: npt.NDArray[np.int64] = field(init=False)
    largest: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.sums = np.zeros((0, LIMBS, self.periods), np.int64)
        self.largest = np.zeros((0, self.periods))

    def rows_for(self, keys: npt.NDArray[np.uint64], labels: list[Any]) -> npt.NDArray[np.int64]:
        """The row of each cell key, new cells added (see :meth:`Cells.rows_for`)."""
        rows = self.cells.rows_for(keys, labels)
        self._grow(len(self.cells.labels))
        return rows

    def _grow(self, cells: int) -> None:
        have = self.sums.shape[0]
        if cells <= have:
            return
        extra = max(cells - have, have)
        self.sums = np.concatenate([self.sums, np.zeros((extra, LIMBS, self.periods), np.int64)])
        self.largest = np.concatenate([self.largest, np.zeros((extra, self.periods))])

    def add(
        self,
        cell: npt.NDArray[np.int64],
        period: npt.NDArray[np.int64],
        loss: FloatArray,
        limbs: FloatArray,
    ) -> None:
        """Add hits: the ``cell`` row, ``period`` (from 1), rounded ``loss`` and ``limbs`` of each.

        At most 2**21 hits of one cell and period per call (the caller's budget).
        """
        if len(cell) == 0:
            return
        touched, local = np.unique(cell, return_inverse=True)
        flat = local * self.periods + (period - 1)
        size = len(touched) * self.periods
        for k in range(LIMBS):
            if not limbs[k].any():
                continue
            sums = np.bincount(flat, weights=limbs[k], minlength=size)
            self.sums[touched, k] += sums.astype(np.int64).reshape(len(touched), self.periods)
        largest = self.largest[touched].reshape(-1)
        np.maximum.at(largest, flat, loss)
        self.largest[touched] = largest.reshape(len(touched), self.periods)
        self._carry(touched)

    def _carry(self, rows: npt.NDArray[np.int64]) -> None:
        block = self.sums[rows]
        for k in range(LIMBS - 1):
            block[:, k + 1] += block[:, k] >> _BITS
            block[:, k] &= _MASK
        if (block[:, LIMBS - 1] >= 1 << 62).any():
            msg = "a period loss beyond 2**126 quanta (about 2e28): out of the ledger's range"
            raise InputError(msg)
        self.sums[rows] = block

    def merge(self, other: Ledger) -> None:
        """Add another ledger's cells (exact; the result does not depend on the order)."""
        if not other.cells.labels:
            return
        rows = self.cells.merge_rows(other.cells)
        self._grow(len(self.cells.labels))
        count = len(other.cells.labels)
        self.sums[rows] += other.sums[:count]
        self.largest[rows] = np.maximum(self.largest[rows], other.largest[:count])
        self._carry(rows)

    def values(self) -> FloatArray:
        """Each cell's period losses as floats, shape ``(cells, periods)``."""
        sums = self.sums[: len(self.cells.labels)].astype(np.float64)
        scale = 2.0**_BITS
        return ((sums[:, 3] * scale + sums[:, 2]) * scale + sums[:, 1]) + sums[:, 0] * QUANTUM

    def maxima(self) -> FloatArray:
        """Each cell's largest hit per period, shape ``(cells, periods)``."""
        return self.largest[: len(self.cells.labels)]

    def grouped(
        self, group: npt.NDArray[np.int64], count: int, *, events_are_cells: bool
    ) -> tuple[FloatArray, FloatArray]:
        """Period losses and largest event losses of ``count`` groups of cells.

        ``group`` maps each cell to its group. A group's period loss is summed
        exactly from its cells' limbs. Its largest event loss is the largest of
        its cells' period losses when each cell is one event (shared mode), else
        the largest single hit.
        """
        cells = len(self.cells.labels)
        sums = np.zeros((count, LIMBS, self.periods), np.int64)
        np.add.at(sums, group, self.sums[:cells])
        whole = Ledger(self.periods)
        whole.sums = sums
        whole._carry(np.arange(count))
        whole.cells = Cells(labels=[None] * count)
        largest = np.zeros((count, self.periods))
        np.maximum.at(largest, group, self.values() if events_are_cells else self.maxima())
        return whole.values(), largest
