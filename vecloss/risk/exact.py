"""The exact answer, without simulation: the oracle the simulation converges to.

Events: in independent mode each building is an event of loss ``S`` with
probability ``p`` per period; in shared mode each ``(by, shared_by)`` cell is
one event whose loss, for the cell's one draw ``u``, is the sum of ``S`` over
the buildings with ``p >= u``. Sorted by ``p`` (largest first), a cell's loss is
``C_k`` (the sum of the first ``k`` losses) with probability ``p_k - p_{k+1}``.

- AAL: ``sum p * S``; variance: the sum of the cells' variances (independent:
  ``p (1 - p) S**2``; shared: the comonotone cell's own).
- OEP: ``P(O > x) = 1 - prod over cells of (1 - P(cell loss > x))``, any size.
- AEP: the distribution of the sum, enumerated: at most :data:`AEP_OUTCOMES`
  outcomes (the product over cells of their number of outcomes); beyond that it
  is not computed (None).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from vecloss.formulas import FloatArray
from vecloss.risk.measures import distribution_tail

__all__ = ["AEP_OUTCOMES", "Events", "aep", "deviation", "events_of", "oep"]

AEP_OUTCOMES = 1 << 20
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Events:
    """Event cells, buildings sorted by cell then ``p`` falling: atoms and their levels."""

    cell: IntArray  # per building, sorted
    atom: FloatArray  # C_k: the cell's loss when its first k buildings are hit
    level: FloatArray  # p_k: P(cell loss >= C_k)
    below: FloatArray  # p_{k+1}, 0 after the cell's last building
    first: npt.NDArray[np.bool_]  # whether the building is its cell's first

    def take(self, rows: IntArray) -> Events:
        """These rows (whole cells, in order) only."""
        return Events(
            self.cell[rows], self.atom[rows], self.level[rows], self.below[rows], self.first[rows]
        )


def events_of(cell: IntArray, p: FloatArray, loss: FloatArray) -> Events:
    """Events from buildings (``loss`` is S, the loss if hit); those that cannot lose dropped."""
    keep = (p > 0) & (loss > 0)
    cell, p, loss = cell[keep], p[keep], loss[keep]
    order = np.lexsort((-p, cell))
    cell, p, loss = cell[order], p[order], loss[order]
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    last = np.ones(len(cell), dtype=bool)
    last[:-1] = first[1:]
    frame = pl.DataFrame({"cell": cell, "loss": loss})
    atom = frame.select(pl.col("loss").cum_sum().over("cell")).to_series().to_numpy()
    below = np.where(last, 0.0, np.concatenate([p[1:], [0.0]]))
    return Events(cell, atom, p, below, first)


def deviation(cells: Events, groups: IntArray, count: int) -> FloatArray:
    """The standard deviation of each group's period loss; ``groups`` maps each cell to its
    group. Computed in units of the largest loss, so that a loss near 1e300, whose square
    is beyond float64, still gives a finite deviation (hardening C9)."""
    scale = float(np.max(cells.atom)) if len(cells.atom) else 1.0
    scale = scale if 0.0 < scale < np.inf else 1.0
    mass = cells.level - cells.below
    atom = cells.atom / scale
    mean = np.bincount(cells.cell, weights=mass * atom)
    mean_b = mean[cells.cell]
    spread = np.bincount(cells.cell, weights=mass * (atom - mean_b) ** 2, minlength=len(mean))
    none = 1.0 - np.bincount(cells.cell, weights=np.where(cells.first, cells.level, 0.0))
    var_cell = spread + none[: len(spread)] * mean**2
    present = np.unique(cells.cell)
    var = np.bincount(groups[present], weights=var_cell[present], minlength=count)
    return np.asarray(np.sqrt(var) * scale, np.float64)


def _log_keep(p: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.where(p < 1.0, np.log1p(-np.minimum(p, 1.0)), 0.0)


def oep(cells: Events, return_periods: FloatArray) -> tuple[FloatArray, FloatArray]:
    """VaR and TVaR of the largest event loss of a period (one group's cells)."""
    certain = (cells.level >= 1.0).astype(np.int64)
    base = float(_log_keep(cells.level[cells.first]).sum())
    base_certain = int(certain[cells.first].sum())
    step = _log_keep(cells.below) - _log_keep(cells.level)
    step_certain = (cells.below >= 1.0).astype(np.int64) - certain
    order = np.argsort(cells.atom, kind="stable")
    log_none = base + np.concatenate([[0.0], np.cumsum(step[order])])
    sure = base_certain + np.concatenate([[0], np.cumsum(step_certain[order])])
    exceed = np.where(sure > 0, 1.0, -np.expm1(log_none))
    exceed[-1] = 0.0
    values = np.concatenate([[0.0], cells.atom[order]])
    return distribution_tail(values, exceed, return_periods)


def aep(cells: Events, return_periods: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """VaR and TVaR of the period's total loss, by enumeration of the outcomes of positive
    probability; None when there are more than :data:`AEP_OUTCOMES`."""
    mass = cells.level - cells.below
    miss = np.where(cells.first, 1.0 - cells.level, 0.0)
    starts = np.flatnonzero(cells.first)
    ends = np.append(starts[1:], len(cells.cell))[: len(starts)]
    outcomes = np.add.reduceat((mass > 0).astype(np.int64), starts) if len(starts) else starts
    outcomes = outcomes + (miss[starts] > 0)
    if float(np.log2(np.maximum(outcomes, 1)).sum()) > np.log2(AEP_OUTCOMES):
        return None
    values, probs = np.zeros(1), np.ones(1)
    for lo, hi in zip(starts, ends, strict=True):  # at most 20 cells of two or more outcomes
        outcome = np.concatenate([[0.0], cells.atom[lo:hi]])
        chance = np.concatenate([[miss[lo]], mass[lo:hi]])
        live = chance > 0
        values = (values[:, None] + outcome[None, live]).ravel()
        probs = (probs[:, None] * chance[None, live]).ravel()
    order = np.argsort(values, kind="stable")
    values, probs = values[order], probs[order]
    exceed = np.concatenate([np.cumsum(probs[::-1])[::-1][1:], [0.0]])
    return distribution_tail(values, exceed, return_periods)
