"""The keys of the ids seen so far, kept in memory up to a budget and spilled past it: sorted
runs in a scratch folder of the system's temporary folder, looked up run by run."""

from __future__ import annotations

import shutil
import weakref
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.checks.keys import id_keys
from vecloss.io.atomic import scratch_folder


def scratch(owner: object) -> Path:
    """A new temporary folder, removed with ``owner`` (or at exit)."""
    folder = scratch_folder("ids")
    weakref.finalize(owner, shutil.rmtree, folder, ignore_errors=True)
    return folder


class EarlierKeys:
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
            self._folder = scratch(self)
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


#: Keys per block of a :class:`KeyLog` whose number of rows is not known: 40 MB, past glibc's
#: largest threshold for mapping an allocation on its own (32 MB), so that each block freed
#: goes back to the system at once. (Batch-sized arrays, freed into the heap, were kept by
#: the process: the copy into one array at the end then took ~125 MB more for 20M keys.)
#: Pages are taken only as keys are written.
BLOCK_KEYS = 5 << 20


class KeyLog:
    """Keys appended batch by batch, for one check at the end: 8 bytes per building, in one
    buffer when the number of rows is known (in a file of a temporary folder past ``budget``
    bytes), else in blocks of :data:`BLOCK_KEYS` keys."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._blocks: list[np.ndarray] = []
        self._filled = 0  # keys in the last block
        self._buffer: np.ndarray | None = None
        self._buffered = 0  # keys in the buffer
        self._count = 0
        if rows:
            if rows * 8 > budget:
                keys = scratch(self) / "keys"
                self._buffer = np.memmap(keys, dtype=np.int64, mode="w+", shape=rows)
            else:
                self._buffer = np.empty(rows, dtype=np.int64)  # (pages taken only when written)

    def add(self, keys: np.ndarray) -> None:
        end = self._count + len(keys)
        if self._buffer is not None and not self._blocks and end <= len(self._buffer):
            self._buffer[self._count : end] = keys
            self._count = self._buffered = end
            return
        done = 0
        while done < len(keys):
            if not self._blocks or self._filled == BLOCK_KEYS:
                self._blocks.append(np.empty(BLOCK_KEYS, dtype=np.int64))
                self._filled = 0
            step = min(BLOCK_KEYS - self._filled, len(keys) - done)
            self._blocks[-1][self._filled : self._filled + step] = keys[done : done + step]
            self._filled += step
            done += step
        self._count = end

    def keys(self) -> np.ndarray:
        """Every key logged, in one array the caller may sort in place (the buffer or block
        itself when there is one). Keys in several blocks are moved into one array a block
        at a time, each block freed once copied: held once and one block more."""
        head = self._buffered
        if not self._blocks:
            return np.empty(0, np.int64) if self._buffer is None else self._buffer[:head]
        if self._buffer is None and len(self._blocks) == 1:
            return self._blocks[0][: self._filled]
        whole = np.empty(self._count, dtype=np.int64)
        if head:
            whole[:head] = self._buffer[:head]  # type: ignore[index]
        self._buffer = None
        self._blocks.reverse()
        while self._blocks:
            block = self._blocks.pop()
            used = self._filled if not self._blocks else BLOCK_KEYS
            whole[head : head + used] = block[:used]
            head += used
            del block
        self._buffer, self._buffered = whole, self._count
        return whole


class SplitLog:
    """Keys logged in two halves, negative and not (hashes split evenly), so that the check at
    the end checks the halves on two threads: equal keys always fall in the same half."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._halves = (KeyLog(rows, budget // 2), KeyLog(rows, budget // 2))

    def add(self, keys: np.ndarray) -> None:
        column = pl.Series(keys)  # (a view of the keys: no copy)
        negative = column < 0
        if not negative.any():  # (integer ids, the common case: nothing to split)
            self._halves[1].add(keys)
            return
        # Polars' filter, not NumPy's boolean index: on hashes (each half of them in no
        # order) 0.25 ms against 7.1 ms for 500,000 keys, measured here.
        self._halves[0].add(column.filter(negative).to_numpy())
        self._halves[1].add(column.filter(~negative).to_numpy())

    def keys(self) -> list[np.ndarray]:
        return [half.keys() for half in self._halves]
