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

import shutil
import tempfile
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.chunks import pieces

__all__ = [
    "SeenIds",
    "distinct_keys",
    "id_keys",
    "increasing",
    "later_duplicates",
    "later_duplicates_ahead",
    "rises",
]

#: The seed of the 64-bit hashes of string ids: fixed, so every batch of a run keys alike.
SEED = 0x5EED

#: Integer keys spread over at most this many values per key are marked in a table of
#: flags (one random write per key into a table of at most 4 bytes per key, ~9 ns per key
#: at 10M); wider ones are sorted (~18 ns per key).
DENSE = 4

#: From this many ids, :func:`later_duplicates_ahead` checks them on a thread of their own
#: while the caller computes (below, the hand-over costs more than the overlap saves).
AHEAD_ROWS = 65_536


def id_keys(ids: pl.Series) -> np.ndarray:
    """The ids (no nulls) as int64 keys: integers as themselves (UInt64 by their bits), any
    other kind as a 64-bit hash, equal for equal ids (and, rarely, for unequal ones)."""
    if ids.dtype.is_integer():
        if ids.dtype == pl.UInt64:
            return ids.to_numpy().view(np.int64)
        return ids.cast(pl.Int64).to_numpy()
    return ids.hash(seed=SEED).to_numpy().view(np.int64)


def exact_keys(ids: pl.Series) -> bool:
    """Whether :func:`id_keys` of such ids are equal only for equal ids."""
    return ids.dtype.is_integer()


def distinct_keys(keys: np.ndarray) -> bool:
    """Whether int64 ``keys`` are pairwise distinct: flags over their range when it is dense
    (ids numbered in any order), else one sort and a comparison of neighbours."""
    count = len(keys)
    if count < 2:
        return True
    low, high = int(np.minimum.reduce(keys)), int(np.maximum.reduce(keys))
    if high - low < DENSE * count:
        flags = np.zeros(high - low + 1, dtype=np.bool_)
        flags[keys - keys.dtype.type(low)] = True
        return int(np.count_nonzero(flags)) == count
    ordered = np.sort(keys)
    return not bool(np.any(ordered[1:] == ordered[:-1]))


def later_duplicates(ids: pl.Series) -> pl.Series | None:
    """Mark every row whose id an earlier row of ``ids`` has; None if there is none.

    Without nulls, distinct keys (:func:`distinct_keys`) prove there is none:
    increasing integers need one comparison of neighbours, others a sort of
    their keys. Only equal keys (a repeat, or a hash collision) or nulls take
    Polars' exact, slower marking of the ids themselves.
    """
    if ids.len() < 2:
        return None
    if not ids.null_count():
        if ids.dtype.is_integer() and increasing(ids):
            return None
        if distinct_keys(id_keys(ids)):
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
    if ids.dtype.is_integer() and not ids.null_count():
        head = ids.head(64).cast(pl.Int64).to_numpy()
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


class _Earlier:
    """The string ids of earlier batches, to confirm a key seen again: in memory up to
    ``budget`` bytes, then in Arrow IPC files of a temporary folder (removed with this
    object, or at exit)."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._held: list[pl.Series] = []
        self._bytes = 0
        self._folder: Path | None = None
        self._files: list[Path] = []

    def add(self, ids: pl.Series) -> None:
        self._held.append(ids)
        self._bytes += int(ids.estimated_size())
        if self._bytes > self._budget:
            self._spill()

    def _spill(self) -> None:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="vecloss-ids-"))
            weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        path = self._folder / f"{len(self._files):06d}.arrow"
        pl.DataFrame({"id": pl.concat(self._held)}).write_ipc(path)
        self._files.append(path)
        self._held, self._bytes = [], 0

    def with_keys(self, keys: np.ndarray) -> pl.Series:
        """The earlier ids whose key is one of ``keys`` (each a key :func:`id_keys` gave)."""
        wanted = pl.Series(keys).implode()
        found = [s.filter(pl.Series(id_keys(s)).is_in(wanted)) for s in self._held]
        for path in self._files:
            stored = pl.read_ipc(path).get_column("id")
            found.append(stored.filter(pl.Series(id_keys(stored)).is_in(wanted)))
        return pl.concat(found) if found else pl.Series(dtype=pl.String)


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

    def __init__(self, *, budget: int = 256 << 20) -> None:
        self._ranges: list[tuple[int, int]] = []  # disjoint, increasing
        self._runs: list[np.ndarray] = []
        self._max: int | None = None
        self._earlier = _Earlier(budget)

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
