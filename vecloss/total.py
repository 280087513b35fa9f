"""A total that is the same bits whatever the batch sizes.

Losses are summed in fixed blocks of :data:`SUM_BLOCK` rows counted from the
first row, whatever batches they arrive in (NumPy's pairwise sum within a
block), and the block sums are combined exactly with :func:`math.fsum`.
All losses are >= 0, so the result is within ~log2(SUM_BLOCK) ulps of the
correctly rounded sum.
"""

from __future__ import annotations

import math

import numpy as np

from vecloss.formulas import FloatArray

__all__ = ["SUM_BLOCK", "Total"]

SUM_BLOCK = 65_536


class Total:
    """Accumulate losses batch by batch; :attr:`value` is the deterministic total."""

    def __init__(self) -> None:
        self.block_sums: list[float] = []
        self._carry: FloatArray = np.empty(0, dtype=np.float64)

    def add(self, values: FloatArray) -> None:
        """Add the next losses, in row order."""
        if len(self._carry):
            need = SUM_BLOCK - len(self._carry)
            self._carry = np.concatenate([self._carry, values[:need]])
            values = values[need:]
            if len(self._carry) < SUM_BLOCK:
                return
            self.block_sums.append(float(self._carry.sum()))
            self._carry = np.empty(0, dtype=np.float64)
        full = len(values) - len(values) % SUM_BLOCK
        if full:
            sums = values[:full].reshape(-1, SUM_BLOCK).sum(axis=1)
            self.block_sums.extend(sums.tolist())
        self._carry = values[full:].copy()

    @property
    def value(self) -> float:
        """The exact (fsum) combination of every block sum so far."""
        return math.fsum([*self.block_sums, float(self._carry.sum())])
