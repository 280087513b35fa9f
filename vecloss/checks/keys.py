"""64-bit keys of building ids, of any id kind: a seeded hash (or the integer itself), and the
plain questions asked of them (all distinct, which fall in some ranges)."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import polars as pl

#: The seed of the 64-bit hashes of string ids: fixed, so every batch of a run keys alike.
SEED = 0x5EED

#: Integer keys spread over at most this many values per key are marked in a table of
#: flags (one random write per key into a table of at most 4 bytes per key, ~9 ns per key
#: at 10M); wider ones go to a table of slots or a sort (:func:`distinct_keys`).
DENSE = 4

#: At most this many keys (and more than :data:`DENSE` values apart each) are told apart in a
#: table of slots (:func:`_distinct_slots`): no sort, and the table fits in the caches.
SLOTS = 1 << 19

#: From this many keys (not dense) of a frame or batch, the compiled check
#: (:mod:`vecloss.checks.compiled`, when Numba is installed) tells them apart: 5.3-6.8 ms for
#: 1M hashed keys and 49-63 ms for 10M, against 16 ms and 158 ms here without it. Loading
#: Numba and the check costs ~0.35 s once per process, which a session repaying ~10 ms a call at
#: 1M keys earns back within ~40 calls; the rule of :data:`vecloss.kernels.blocks.
#: JIT_MIN_ROWS_IN_MEMORY`, for the same reason. Once Numba is loaded (by any part of
#: vecloss or by the user), the compiled check is used from :data:`COMPILED_LOADED` keys.
COMPILED = 1_000_000
#: Keys (of one half of a run's, checked at its end on two threads: :class:`vecloss.checks.
#: spill.SplitLog`) from which the compiled check runs in place without Numba loaded yet.
#: Measured here: 5M keys 63 ms compiled against 297 ms sorted by NumPy, 50M 0.67 s against
#: 3.6 s; loading Numba and the check costs ~0.34 s. From 16M keys a half (32M buildings) it
#: pays for the load twice over; below, a run of 20M buildings does not take on Numba's
#: memory (its load adds ~110 MB) for a gain of ~0.2 s.
COMPILED_IN_PLACE = 16_000_000
#: Keys from which the compiled check is used once Numba is loaded: 20,000 hashed keys take
#: 24 us compiled, 150 us in a table of slots.
COMPILED_LOADED = 2_048

#: Up to this many keys, ``in_place`` keys are checked in a copy all the same (8 bytes a key
#: more, for the duration of the check), as other keys are: for a 10M-building run's two
#: halves of 5M, Polars' sort on its threads took 0.19-0.21 s against NumPy's in place
#: 0.31-0.37 s, and once Numba is loaded the compiled check with its scratch 0.06-0.11 s
#: against 0.11-0.17 s in place (the two halves at once, measured in the run).
COPIED_AT_MOST = 8_000_000

#: The table of slots has 16-32 slots per key while that fits 2**TABLE_BITS slots (8 MB),
#: and at least 4-8: fewer keys share a slot (so fewer go round again), and a table of up to
#: 8 MB costs no more to write here. Measured (100,000 hashed keys): 4-8 slots a key 0.75 ms,
#: 8-16 0.57 ms, 16-32 0.47 ms, 32-64 0.56 ms; 300,000 keys: 4-8 2.7 ms, 16-32 6.0 ms.
#: (Taking turns with Polars' expression, as a session's calls do, 100,000 keys took 1.1-1.4 ms
#: with 4-8 slots a key, 1.3-1.4 ms with 16-32.)
TABLE_BITS = 21

#: Odd 64-bit multipliers that spread keys over the slots, one per round (the golden ratio's
#: and three of xxHash's primes): multiply-shift hashing.
_SPREAD = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)


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
    (ids numbered in any order); with Numba, from :data:`COMPILED` keys (fewer once it is
    loaded), the compiled check (:mod:`vecloss.checks.compiled`); else up to :data:`SLOTS`
    keys, a table of slots (:func:`_distinct_slots`: 0.8 ms for 100,000 keys, no sort);
    past it, a sort and a comparison of neighbours. The sort is Polars' (on its threads: 14 ms
    for 1M keys, 158 ms for 10M, against NumPy's 51 ms and 651 ms on this machine), but
    ``in_place`` keys (a whole run's, at its end: a copy would double the 8 bytes a building
    a streamed run keeps, as Polars' sort did for a 20M-building JSON array, 600 MB to 750)
    are checked where they are (their order changes, their values do not): by the compiled
    check in place once Numba is loaded or from :data:`COMPILED_IN_PLACE` keys, else sorted
    in place by NumPy (their 32-bit offsets from the smallest when the range is below 2**32);
    but up to :data:`COPIED_AT_MOST` keys they are checked in a copy, as other keys (faster,
    and the copy is small): the compiled check with its scratch, or Polars' sort."""
    count = len(keys)
    if count < 2:
        return True
    low, high = int(np.minimum.reduce(keys)), int(np.maximum.reduce(keys))
    if high - low < DENSE * count:
        flags = np.zeros(high - low + 1, dtype=np.bool_)
        flags[keys - keys.dtype.type(low)] = True
        return int(np.count_nonzero(flags)) == count
    copied = not in_place or count <= COPIED_AT_MOST  # (else where they are: no copy)
    if _compiled_wanted(count, in_place=in_place):
        found = _distinct_compiled(keys) if copied else _distinct_compiled_in_place(keys)
        if found is not None:
            return found
    if count <= SLOTS:
        return _distinct_slots(keys)
    if copied:
        return _no_neighbours_equal(pl.Series(keys).sort().to_numpy())
    if high - low < 1 << 32:
        narrow = (keys.view(np.uint64) - np.uint64(low % (1 << 64))).astype(np.uint32)
        narrow.sort()
        return _no_neighbours_equal(narrow)
    keys.sort()
    return _no_neighbours_equal(keys)


def _compiled_wanted(count: int, *, in_place: bool = False) -> bool:
    """Whether ``count`` keys go to the compiled check: from :data:`COMPILED` keys
    (:data:`COMPILED_IN_PLACE` in place), or :data:`COMPILED_LOADED` once Numba is loaded,
    when it is installed. ``VECLOSS_JIT`` decides as for the kernels: ``0`` never, ``1``
    from :data:`COMPILED_LOADED` keys whatever the rest."""
    setting = os.environ.get("VECLOSS_JIT", "")
    if setting == "0" or count < COMPILED_LOADED:
        return False
    least = COMPILED_IN_PLACE if in_place else COMPILED
    wanted = setting == "1" or count >= least or "numba" in sys.modules
    return wanted and _numba_installed()


@cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


#: The compiled check's scratch of this many bytes or more comes from Arrow's memory pool,
#: which keeps freed memory for the next call: a fresh 80 MB array costs ~40 ms of page faults
#: at 10M keys (measured: the split into partitions took 63 ms into fresh memory, 21 ms into
#: memory used before). (Not the table of slots: 100,000 string ids took 2.1-2.8 ms in
#: ``vecloss.losses`` with its 8 MB table from the pool, 1.4-1.5 ms from NumPy, measured in
#: the order ``vecloss bench --targets`` runs them.)
POOLED_SCRATCH = 1 << 20


def _scratch(count: int, dtype: type[np.generic]) -> np.ndarray:
    """An uninitialized array of ``count`` values (from Arrow's pool past :data:`POOLED_SCRATCH`
    bytes)."""
    size = count * np.dtype(dtype).itemsize
    if size < POOLED_SCRATCH:
        return np.empty(count, dtype=dtype)
    import pyarrow as pa

    return np.frombuffer(pa.allocate_buffer(size), dtype=dtype)


#: From this many keys, the compiled check's partitions are shared by two threads (the
#: caller's and :func:`_helper`): 1M keys 4.8 ms -> 2.5 ms for that step, measured.
TWO_THREADS = 262_144


@cache
def _helper() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="vecloss-keys")


def _distinct_compiled(keys: np.ndarray) -> bool | None:
    """The compiled check (:mod:`vecloss.checks.compiled`); None when the keys defeat its
    spread (the caller sorts them)."""
    from vecloss.checks.compiled import probe, split  # Numba loads here, only when asked for

    count = len(keys)
    scratch = _scratch(count, np.uint64)
    view = np.ascontiguousarray(keys, dtype=np.int64).view()
    view.flags.writeable = False  # (one compiled specialization, whatever the keys' flags)
    starts = split(view, scratch)
    parts = len(starts) - 1
    if count < TWO_THREADS or parts < 2:
        found = [probe(scratch, starts, 0, parts)]
    else:
        other = _helper().submit(probe, scratch, starts, 0, parts // 2)
        found = [probe(scratch, starts, parts // 2, parts), other.result()]
    if 0 in found:
        return False
    return None if -1 in found else True


def _distinct_compiled_in_place(keys: np.ndarray) -> bool | None:
    """The compiled check on writeable int64 ``keys`` where they are (no scratch): spread and
    grouped in place, probed, then given their values back (in another order); None when
    the keys defeat the spread (the caller sorts them)."""
    from vecloss.checks.compiled import probe, split_in_place, unspread

    values = keys.view(np.uint64)
    starts = split_in_place(values)
    try:
        found = probe(values, starts, 0, len(starts) - 1)
    finally:
        unspread(values)
    return None if found < 0 else found == 1


def _no_neighbours_equal(ordered: np.ndarray) -> bool:
    """Whether sorted values are distinct: no value equals the one after it."""
    return not bool(np.any(ordered[1:] == ordered[:-1]))


def _distinct_slots(keys: np.ndarray) -> bool:
    """Whether int64 ``keys`` are distinct, by scattering their row numbers into a table of
    4-32 slots per key (multiply-shift hashing; see :data:`TABLE_BITS`) and reading back which
    row holds each key's slot: a key whose slot holds another row with the same key is a
    repeat; a key whose slot went to a different key (3-20 % of them) tries again in a fresh
    table with the next multiplier, the others are proved unique. Equal keys always share a
    slot, so no repeat is missed, whatever row wins a slot. Keys still left after the
    multipliers (a spread that fails, as adversarial keys could make it) are sorted.
    The table and the arrays of a round are :class:`_Scratch`'s, kept from call to call:
    taken fresh, the table's pages can fault in at every call (whether they do depends on the
    state of the C library's heap). Measured here, taking turns with Polars' expression: 300,000
    string ids, ~1,870 page faults a call and the check 10.3 ms, against 7.5-7.9 ms without
    faults; 100,000 ids in a table of 4-8 slots a key (2 MB), ~970 faults a call and 4.6 ms in
    ``vecloss.losses``, against 2.6 ms with the arrays kept. Without faults, kept arrays measured
    0-9 % faster."""
    kept = _SCRATCH.lock.acquire(blocking=False)
    scratch = _SCRATCH if kept else _Scratch()  # (another caller holds the kept arrays)
    try:
        scratch.fit(len(keys))
        for spread in _SPREAD:
            count = len(keys)
            if count < 2:
                return True
            bits = _table_bits(count)
            table = scratch.table[: 1 << bits]  # (only slots written in this round are read)
            spreaded = np.multiply(
                keys.view(np.uint64), np.uint64(spread), out=scratch.spreaded[:count]
            )
            spreaded >>= np.uint64(64 - bits)
            slot = spreaded.view(np.int64)  # (below 2**bits: NumPy indexes by int64 without a copy)
            rows = scratch.rows[:count]
            table[slot] = rows
            holder = table.take(slot, mode="clip", out=scratch.holder[:count])
            moved = holder != rows
            held = keys[holder[moved]]
            keys = keys[moved]
            if bool(np.any(keys == held)):
                return False
    finally:
        if kept:
            scratch.lock.release()
    return _no_neighbours_equal(np.sort(keys))


def _table_bits(count: int) -> int:
    """The table of slots for ``count`` keys has 2**this slots (:data:`TABLE_BITS`)."""
    return max(count.bit_length() + 2, min(count.bit_length() + 4, TABLE_BITS))


class _Scratch:
    """The table of slots and a round's arrays, kept from call to call, grown to the most keys
    checked so far (a power of two; at most :data:`SLOTS`: 16 MB of table and 8 MB of arrays);
    one caller at a time (another makes a :class:`_Scratch` of its own for the call)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.capacity = 0
        self.table = self.spreaded = self.holder = self.rows = np.empty(0, dtype=np.int32)

    def fit(self, count: int) -> None:
        """Grow the arrays to hold ``count`` keys."""
        if count <= self.capacity:
            return
        self.capacity = 1 << (count - 1).bit_length()
        self.table = np.empty(1 << _table_bits(self.capacity), dtype=np.int32)
        self.spreaded = np.empty(self.capacity, dtype=np.uint64)
        self.holder = np.empty(self.capacity, dtype=np.int32)
        self.rows = np.arange(self.capacity, dtype=np.int32)


_SCRATCH = _Scratch()


def in_ranges(keys: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """Which keys lie in one of ``ranges`` (disjoint inclusive ``(low, high)``, sorted)."""
    found = np.zeros(len(keys), dtype=bool)
    if ranges:
        lows, highs = (np.array(side, dtype=np.int64) for side in zip(*ranges, strict=True))
        index = np.searchsorted(lows, keys, side="right") - 1
        inside = index >= 0
        found[inside] = keys[inside] <= highs[index[inside]]
    return found
