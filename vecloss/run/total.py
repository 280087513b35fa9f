"""A total that is the same bits whatever the batch sizes, parts, workers or executor.

Losses are summed in fixed blocks of :data:`SUM_BLOCK` rows counted from the
first row of each input file (NumPy's pairwise sum within a block; a rejected
row counts as 0.0 in its place), and the block sums are combined exactly with
:func:`math.fsum`. A worker that streams part of a file starts mid-way through
a block: it keeps that first partial block (``head``) and its last one
(``tail``) as values, and :func:`file_block_sums` joins them with its
neighbours' to rebuild exactly the blocks a single pass would sum. All losses
are >= 0, so the result is within ~log2(SUM_BLOCK) ulps of the correctly
rounded sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vecloss.formulas import FloatArray

__all__ = ["SUM_BLOCK", "Total", "TotalParts", "file_block_sums"]

SUM_BLOCK = 65_536


def _empty() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass
class TotalParts:
    """What one worker's stretch of a file contributes: exact partial blocks and block sums."""

    head: FloatArray = field(default_factory=_empty)
    block_sums: list[float] = field(default_factory=list)
    tail: FloatArray = field(default_factory=_empty)


class Total:
    """Accumulate losses in row order; :attr:`value` is the deterministic total.

    ``offset`` is where, in its file, the first value stands (0 for a whole
    file); values before the first block boundary are kept as the ``head``.
    """

    def __init__(self, offset: int = 0) -> None:
        self._head_room = (-offset) % SUM_BLOCK
        self._head: list[FloatArray] = []
        self.block_sums: list[float] = []
        self._carry: FloatArray = _empty()

    def add(self, values: FloatArray) -> None:
        """Add the next losses, in row order (0.0 in the place of a rejected row)."""
        if self._head_room:
            take = values[: self._head_room]
            self._head.append(take.copy())
            self._head_room -= len(take)
            values = values[len(take) :]
        if len(self._carry):
            need = SUM_BLOCK - len(self._carry)
            self._carry = np.concatenate([self._carry, values[:need]])
            values = values[need:]
            if len(self._carry) < SUM_BLOCK:
                return
            self.block_sums.append(float(self._carry.sum()))
            self._carry = _empty()
        full = len(values) - len(values) % SUM_BLOCK
        if full:
            self.block_sums.extend(values[:full].reshape(-1, SUM_BLOCK).sum(axis=1).tolist())
        self._carry = values[full:].copy()

    def parts(self) -> TotalParts:
        """The head, the whole-block sums and the tail, for :func:`file_block_sums`."""
        head = np.concatenate(self._head) if self._head else _empty()
        return TotalParts(head, list(self.block_sums), self._carry.copy())

    def end_file(self) -> list[float]:
        """Every block sum of a whole file streamed from its first row."""
        return file_block_sums([self.parts()])

    @property
    def value(self) -> float:
        """The total of a whole file streamed from its first row."""
        return math.fsum(self.end_file())


def file_block_sums(parts: Sequence[TotalParts]) -> list[float]:
    """The block sums of one file from its consecutive parts, joined at the seams."""
    sums: list[float] = []
    pending = _empty()
    for part in parts:
        joined = np.concatenate([pending, part.head]) if len(part.head) else pending
        if part.block_sums:
            if len(joined):
                sums.append(float(joined.sum()))
            sums.extend(part.block_sums)
            pending = part.tail
        else:
            pending = np.concatenate([joined, part.tail])
            if len(pending) >= SUM_BLOCK:
                sums.append(float(pending[:SUM_BLOCK].sum()))
                pending = pending[SUM_BLOCK:]
    if len(pending):
        sums.append(float(pending.sum()))
    return sums
