"""Repeated building ids: within a batch (:func:`later_duplicates`), across batches
(:class:`SeenIds`)."""

from __future__ import annotations

import numpy as np
import polars as pl

from vecloss.chunks import pieces

__all__ = ["SeenIds", "increasing", "later_duplicates", "rises"]


class SeenIds:
    """The building ids of earlier batches, to find repeats across batches.

    Integer ids are kept as int64, string ids as their 64-bit hashes (a false
    repeat then needs a hash collision: about n**2 / 2**65, 3e-6 at 10M ids).
    Ids that arrive in increasing order (the common case) cost one comparison
    with the largest id so far, and a contiguous batch is kept as one range.
    Others live in sorted runs whose sizes at least double down the list, so
    each id is merged O(log n) times and looked up by binary search.
    """

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []  # disjoint, increasing
        self._runs: list[np.ndarray] = []
        self._max: int | None = None

    @staticmethod
    def _keys(ids: pl.Series) -> np.ndarray:
        if ids.dtype == pl.String:
            return ids.hash(seed=0x5EED).to_numpy().view(np.int64)
        if ids.dtype == pl.UInt64:  # all 64 bits, ids at or above 2**63 included
            return ids.to_numpy().view(np.int64)
        return ids.cast(pl.Int64).to_numpy()

    def add(self, ids: pl.Series, *, rising: bool = False) -> pl.Series:
        """Record ``ids`` (non-null, unique within the batch); return which were seen before.

        ``rising``: the caller has checked that integer ids each exceed the one before; then
        a batch of consecutive ids above every earlier one is one range, and its values are
        never copied out.
        """
        if rising and ids.len() and self._extends(int(ids[0]), int(ids[-1]), ids.len()):
            return pl.Series(np.zeros(ids.len(), dtype=bool))
        keys = self._keys(ids)
        if len(keys) == 0:
            return pl.Series(np.zeros(0, dtype=bool))
        increasing = rises(keys)
        if increasing and (self._max is None or keys[0] > self._max):
            seen = np.zeros(len(keys), dtype=bool)
        else:
            seen = self._lookup(keys)
        self._store(keys if increasing else np.sort(keys), contiguous=increasing)
        return pl.Series(seen)

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        seen = np.zeros(len(keys), dtype=bool)
        if self._ranges:
            lows, highs = (
                np.array(side, dtype=np.int64) for side in zip(*self._ranges, strict=True)
            )
            index = np.searchsorted(lows, keys, side="right") - 1
            inside = index >= 0
            seen[inside] = keys[inside] <= highs[index[inside]]
        for run in self._runs:
            pos = np.searchsorted(run, keys).clip(max=len(run) - 1)
            seen |= run[pos] == keys
        return seen

    def _extends(self, low: int, high: int, count: int) -> bool:
        """Record ``count`` consecutive ids from ``low`` to ``high`` if they lie above every id
        so far (then none was seen); else record nothing and say so."""
        if high - low != count - 1 or (self._max is not None and low <= self._max):
            return False
        self._max = high
        if self._ranges and low == self._ranges[-1][1] + 1:
            self._ranges[-1] = (self._ranges[-1][0], high)
        else:
            self._ranges.append((low, high))
        return True

    def _store(self, ordered: np.ndarray, *, contiguous: bool) -> None:
        low, high = int(ordered[0]), int(ordered[-1])
        if contiguous and self._extends(low, high, len(ordered)):
            return
        self._max = high if self._max is None else max(self._max, high)
        new = ordered
        while self._runs and len(self._runs[-1]) <= 2 * len(new):
            new = np.concatenate([self._runs.pop(), new])
            new.sort(kind="stable")
        self._runs.append(new)


def later_duplicates(ids: pl.Series) -> pl.Series | None:
    """Mark every row whose id an earlier row of ``ids`` has; None if there is none.

    Sorted ids (the common case: generated or exported in id order) need one
    comparison of neighbours; others a hash of every id.
    """
    if ids.len() < 2:
        return None
    if ids.dtype.is_integer() and not ids.null_count():
        if increasing(ids):
            return None
    elif ids.is_sorted():
        repeats = ids.slice(1) == ids.slice(0, ids.len() - 1)
        if not repeats.any():
            return None
    mask = ~ids.is_first_distinct() & ids.is_not_null()
    return mask if mask.any() else None


def increasing(ids: pl.Series) -> bool:
    """Whether integer ids (no nulls) each exceed the one before, chunk by chunk (NumPy views
    of a chunked column: no copy), and across the chunks' edges."""
    previous = None
    for chunk in pieces(ids):
        values = chunk.to_numpy()
        if not len(values):
            continue
        if not rises(values, previous):
            return False
        previous = values[-1]
    return True


def rises(values: np.ndarray, previous: int | None = None) -> bool:
    """Whether each of ``values`` exceeds the one before (the first, ``previous`` if given)."""
    if previous is not None and len(values) and not values[0] > previous:
        return False
    return bool(np.all(values[1:] > values[:-1]))
