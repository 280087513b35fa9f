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
import shutil
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.chunks import pieces
from vecloss.io.atomic import scratch_folder

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

#: The seed of the 64-bit hashes of string ids: fixed, so every batch of a run keys alike.
SEED = 0x5EED

#: Integer keys spread over at most this many values per key are marked in a table of
#: flags (one random write per key into a table of at most 4 bytes per key, ~9 ns per key
#: at 10M); wider ones are sorted (~18 ns per key).
DENSE = 4

#: Fewer string ids than this are counted by Polars' ``n_unique`` (17 us for 1,000), not hashed.
SMALL = 4_096

#: From this many ids, :func:`later_duplicates_ahead` checks them on a thread of their own
#: while the caller computes (below, the hand-over costs more than the overlap saves).
AHEAD_ROWS = 65_536


def id_keys(ids: pl.Series) -> np.ndarray:
    """The ids (no nulls) as int64 keys: integers of 64 bits or fewer as themselves (UInt64
    by their bits), any other kind (strings, 128-bit integers) as a 64-bit hash, equal for
    equal ids (and, rarely, for unequal ones)."""
    if exact_keys(ids):
        if ids.dtype == pl.UInt64:
            return ids.to_numpy().view(np.int64)
        return ids.cast(pl.Int64).to_numpy()
    return ids.hash(seed=SEED).to_numpy().view(np.int64)


def exact_keys(ids: pl.Series) -> bool:
    """Whether :func:`id_keys` of such ids are equal only for equal ids: integers of 64 bits or
    fewer (a JSON reader gives 128-bit integers for ids past 2**63)."""
    return ids.dtype.is_integer() and ids.dtype not in (pl.Int128, pl.UInt128)


def distinct_keys(keys: np.ndarray, *, in_place: bool = False) -> bool:
    """Whether int64 ``keys`` are pairwise distinct: flags over their range when it is dense
    (ids numbered in any order), else one sort and a comparison of neighbours (``in_place``:
    the keys themselves are sorted, no copy)."""
    count = len(keys)
    if count < 2:
        return True
    low, high = int(np.minimum.reduce(keys)), int(np.maximum.reduce(keys))
    if high - low < DENSE * count:
        flags = np.zeros(high - low + 1, dtype=np.bool_)
        flags[keys - keys.dtype.type(low)] = True
        return int(np.count_nonzero(flags)) == count
    if in_place:
        keys.sort()
        ordered = keys
    else:
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
        if exact_keys(ids) and increasing(ids):
            return None
        if not exact_keys(ids) and ids.len() < SMALL:
            if ids.n_unique() == ids.len():  # (Polars' hash has a fixed cost of ~0.1 ms)
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


def in_ranges(keys: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """Which keys lie in one of ``ranges`` (disjoint inclusive ``(low, high)``, sorted)."""
    found = np.zeros(len(keys), dtype=bool)
    if ranges:
        lows, highs = (np.array(side, dtype=np.int64) for side in zip(*ranges, strict=True))
        index = np.searchsorted(lows, keys, side="right") - 1
        inside = index >= 0
        found[inside] = keys[inside] <= highs[index[inside]]
    return found


def _scratch(owner: object) -> Path:
    """A new temporary folder, removed with ``owner`` (or at exit)."""
    folder = scratch_folder("ids")
    weakref.finalize(owner, shutil.rmtree, folder, ignore_errors=True)
    return folder


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
            self._folder = _scratch(self)
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


class _KeyLog:
    """Keys appended batch by batch, for one check at the end: 8 bytes per building, in one
    buffer when the number of rows is known (in a file of a temporary folder past ``budget``
    bytes), else in a list of arrays."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._arrays: list[np.ndarray] = []
        self._buffer: np.ndarray | None = None
        self._count = 0
        if rows:
            if rows * 8 > budget:
                keys = _scratch(self) / "keys"
                self._buffer = np.memmap(keys, dtype=np.int64, mode="w+", shape=rows)
            else:
                self._buffer = np.empty(rows, dtype=np.int64)  # (pages taken only when written)

    def add(self, keys: np.ndarray) -> None:
        end = self._count + len(keys)
        if self._buffer is not None and not self._arrays and end <= len(self._buffer):
            self._buffer[self._count : end] = keys
        else:
            self._arrays.append(np.array(keys, dtype=np.int64))  # (a copy: no batch kept alive)
        self._count = end

    def keys(self) -> np.ndarray:
        """Every key logged (the buffer itself: the caller may sort it in place)."""
        if self._buffer is None:
            return np.concatenate(self._arrays) if self._arrays else np.empty(0, np.int64)
        head = self._buffer[: min(self._count, len(self._buffer))]
        return np.concatenate([head, *self._arrays]) if self._arrays else head


class _SplitLog:
    """Keys logged in two halves, negative and not (hashes split evenly), so that the check at
    the end sorts the halves on two threads: equal keys always fall in the same half."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._halves = (_KeyLog(rows, budget // 2), _KeyLog(rows, budget // 2))

    def add(self, keys: np.ndarray) -> None:
        negative = keys < 0
        if not negative.any():  # (integer ids, the common case: no copy of a mask)
            self._halves[1].add(keys)
            return
        self._halves[0].add(keys[negative])
        self._halves[1].add(keys[~negative])

    def keys(self) -> list[np.ndarray]:
        return [half.keys() for half in self._halves]


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
        self._log = _SplitLog(rows, budget)
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
