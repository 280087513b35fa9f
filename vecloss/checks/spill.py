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


class KeyLog:
    """Keys appended batch by batch, for one check at the end: 8 bytes per building, in one
    buffer when the number of rows is known (in a file of a temporary folder past ``budget``
    bytes), else in a list of arrays."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._arrays: list[np.ndarray] = []
        self._buffer: np.ndarray | None = None
        self._count = 0
        if rows:
            if rows * 8 > budget:
                keys = scratch(self) / "keys"
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


class SplitLog:
    """Keys logged in two halves, negative and not (hashes split evenly), so that the check at
    the end sorts the halves on two threads: equal keys always fall in the same half."""

    def __init__(self, rows: int | None, budget: int) -> None:
        self._halves = (KeyLog(rows, budget // 2), KeyLog(rows, budget // 2))

    def add(self, keys: np.ndarray) -> None:
        negative = keys < 0
        if not negative.any():  # (integer ids, the common case: no copy of a mask)
            self._halves[1].add(keys)
            return
        self._halves[0].add(keys[negative])
        self._halves[1].add(keys[~negative])

    def keys(self) -> list[np.ndarray]:
        return [half.keys() for half in self._halves]
