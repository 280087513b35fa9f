"""Repeated building ids: within a batch (:func:`later_duplicates`), across batches
(:class:`SeenIds`).

Every id kind is checked at hash-and-sort speed: integer ids are their own
keys, string ids are keyed by a 64-bit hash. Keys that are all distinct prove
the ids are; equal keys are only a suspicion (for strings, a hash collision is
not a repeat), confirmed against the ids themselves before any row is named.

The rule, one for every path: an id belongs to the first row that gives it
(valid or not); each later row with that id is a ``duplicate_id``, whatever
else is wrong with it, so that the same file gives the same rows, rejects and
messages at every batch size.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import numpy as np
import polars as pl

from vecloss.checks.keys import distinct_keys, exact_keys, id_keys, in_ranges
from vecloss.checks.spill import EarlierKeys, SplitLog
from vecloss.chunks import pieces

__all__ = [
    "DeferredIds",
    "Seen",
    "SeenIds",
    "distinct_keys",
    "id_keys",
    "in_ranges",
    "increasing",
    "later_duplicates",
    "later_duplicates_ahead",
    "rises",
]


#: Fewer string ids than this are counted by Polars' ``n_unique``, not hashed and checked as
#: keys. Measured here in ``vecloss.losses``, taking turns with Polars' expression (the caches
#: as a session leaves them): 10,000 ids 290 us against 421-424 us hashed, 20,000 ids
#: 438-649 us against 569-862 us; from ~30,000 the hash and the table of slots are faster.
SMALL = 24_576

#: From this many ids, :func:`later_duplicates_ahead` checks them on a thread of their own
#: while the caller computes (below, the hand-over costs more than the overlap saves).
AHEAD_ROWS = 65_536


def later_duplicates(ids: pl.Series) -> pl.Series | None:
    """Mark every row whose id an earlier row of ``ids`` has; None if there is none.

    Without nulls, distinct keys (:func:`distinct_keys`) prove there is none:
    increasing integers need one comparison of neighbours, others a sort of
    their keys; fewer than :data:`SMALL` string ids are counted instead (Polars'
    ``n_unique``, exact). Only equal keys (a repeat, or a hash collision), a
    count short of the rows, or nulls take Polars' exact, slower marking of the
    ids themselves.
    """
    if ids.len() < 2:
        return None
    if not ids.null_count():
        if exact_keys(ids) and increasing(ids):
            return None
        if not exact_keys(ids) and ids.len() < SMALL:
            if ids.n_unique() == ids.len():
                return None
        elif distinct_keys(id_keys(ids)):
            return None
    mask = ~ids.is_first_distinct() & ids.is_not_null()
    return mask if mask.any() else None


@cache
def _thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="vecloss-ids")


def later_duplicates_ahead(ids: pl.Series) -> Future[pl.Series | None] | None:
    """:func:`later_duplicates` started on a thread of its own (hashing and sorting release
    the GIL, so it runs beside the caller's kernel), or None when it is not worth a thread:
    few ids, or integers whose first ones increase (the kernel then checks their order)."""
    if ids.len() < AHEAD_ROWS:
        return None
    if exact_keys(ids) and not ids.null_count():
        head = id_keys(ids.head(64))
        if rises(head):
            return None
    return _thread().submit(later_duplicates, ids)


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


class SeenIds:
    """The building ids of earlier batches, to find repeats across batches.

    Each id is kept as its int64 key (:func:`id_keys`): 8 bytes per building.
    A string id whose hash was seen before is confirmed against the earlier
    ids themselves, which are kept for that (in memory up to ``budget`` bytes,
    then spilled to a temporary folder): a hash collision is never a repeat.
    Ids that arrive in increasing order (the common case) cost one comparison
    with the largest id so far, and a contiguous batch is kept as one range.
    Others live in sorted runs whose sizes at least double down the list, so
    each id is merged O(log n) times and looked up by binary search.
    """

    deferred = False

    def __init__(self, *, budget: int = 256 << 20) -> None:
        self._ranges: list[tuple[int, int]] = []  # disjoint, increasing
        self._runs: list[np.ndarray] = []
        self._max: int | None = None
        self._earlier = EarlierKeys(budget)

    def add(self, ids: pl.Series, *, rising: bool = False) -> pl.Series:
        """Record ``ids`` (non-null, unique within the batch); return which were seen before.

        ``rising``: the caller has checked that integer ids each exceed the one before; then
        a batch of consecutive ids above every earlier one is one range, and its values are
        never copied out.
        """
        if rising and ids.len() and self._extends(int(ids[0]), int(ids[-1]), ids.len()):
            return pl.Series(np.zeros(ids.len(), dtype=bool))
        keys = id_keys(ids)
        if len(keys) == 0:
            return pl.Series(np.zeros(0, dtype=bool))
        increasing = rises(keys)
        if increasing and (self._max is None or keys[0] > self._max):
            seen = np.zeros(len(keys), dtype=bool)
        else:
            seen = self._lookup(keys)
        if not exact_keys(ids) and seen.any():
            earlier = self._earlier.with_keys(keys[seen])
            seen &= ids.is_in(earlier.implode()).to_numpy()
        if not exact_keys(ids):
            self._earlier.add(ids)
        self._store(keys if increasing else np.sort(keys), contiguous=increasing)
        return pl.Series(seen)

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """Which keys were stored before. The keys are looked up in sorted order: a binary
        search then walks a run from low to high, in cache (10x faster than in random order
        on a run of 10M)."""
        order = np.argsort(keys)
        ordered = keys[order]
        found = in_ranges(ordered, self._ranges)
        for run in self._runs:
            pos = np.searchsorted(run, ordered).clip(max=len(run) - 1)
            found |= run[pos] == ordered
        seen = np.empty(len(keys), dtype=bool)
        seen[order] = found
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


class DeferredIds:
    """The ids of a run in fail mode, where any repeat fails the whole run: no batch is looked
    up. Each batch's keys are logged on a thread of their own (8 bytes per building; for a
    known number of ``rows``, in one buffer), a batch of consecutive rising integers as one
    range; :meth:`repeated` checks them all at once at the end, as :func:`later_duplicates`
    checks one batch (a repeat within a batch included). A run whose check finds a repeat
    (or, for strings, perhaps a hash collision) checks again in order with :class:`SeenIds`,
    exactly, naming the rows.
    """

    deferred = True

    def __init__(self, *, rows: int | None = None, budget: int = 1 << 30) -> None:
        self._log = SplitLog(rows, budget)
        self._ranges: list[tuple[int, int]] = []
        self._pending: list[Future[None]] = []

    def add(self, ids: pl.Series, *, rising: bool = False) -> pl.Series:
        """Log ``ids`` (non-null); none is reported seen before (see :meth:`repeated`)."""
        count = ids.len()
        if count:
            low, high = (int(ids[0]), int(ids[-1])) if rising else (0, -1)
            if rising and high - low == count - 1:
                self._ranges.append((low, high))
            else:
                self._pending.append(_thread().submit(self._add, ids))
        return pl.Series(np.zeros(count, dtype=bool))

    def _add(self, ids: pl.Series) -> None:
        self._log.add(id_keys(ids))

    def repeated(self) -> bool:
        """Whether some key was logged twice, falls in a range, or two ranges overlap."""
        for pending in self._pending:
            pending.result()
        ranges = sorted(self._ranges)
        if any(low <= previous for (_, previous), (low, _) in itertools.pairwise(ranges)):
            return True
        halves = self._log.keys()
        other = _thread().submit(self._repeated_in, halves[0], ranges)
        return self._repeated_in(halves[1], ranges) or other.result()

    @staticmethod
    def _repeated_in(keys: np.ndarray, ranges: list[tuple[int, int]]) -> bool:
        if not distinct_keys(keys, in_place=True):
            return True
        return bool(np.any(in_ranges(keys, ranges)))


#: What a run carries across batches: exact lookups, or (fail mode) one check at the end.
Seen = SeenIds | DeferredIds
