"""The per-building baselines: the design vecloss replaces, kept to measure against.

Each runs the scalar reference of :mod:`vecloss.reference` once per building:

- ``loop``: a plain Python loop over building records;
- ``threads`` / ``processes``: one task per building submitted to a
  :class:`~concurrent.futures.ThreadPoolExecutor` / ``ProcessPoolExecutor``
  (``executor.submit(reference_loss, building, years, rate, formula)``), results
  gathered by building id;
- with ``chunk_size``, the chunked variant: one task per ``chunk_size``
  buildings, the fair best case of pooling.

These are the only places in vecloss that loop over rows in Python.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from vecloss.exceptions import UsageError
from vecloss.formulas import FloatArray, Formula
from vecloss.reference import reference_loss
from vecloss.schema import ID

__all__ = ["PoolKind", "loop_losses", "pooled_losses", "reference_chunk"]

PoolKind = Literal["threads", "processes"]
Building = dict[str, Any]


def _records(frame: pl.DataFrame) -> list[Building]:
    return frame.to_dicts()


def loop_losses(
    frame: pl.DataFrame,
    *,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
) -> FloatArray:
    """One Python loop over the buildings, the scalar reference for each."""
    return np.array(
        [reference_loss(b, years, discount_rate, formula) for b in _records(frame)],
        dtype=np.float64,
    )


def reference_chunk(
    buildings: Sequence[Building], years: int, discount_rate: float, formula: str | Formula
) -> list[float]:
    """The chunked task: the scalar reference over a list of buildings."""
    return [reference_loss(b, years, discount_rate, formula) for b in buildings]


def _executor(kind: PoolKind, workers: int) -> Executor:
    if kind == "threads":
        return ThreadPoolExecutor(max_workers=workers)
    check_main_guard()
    # forkserver: workers fork from a clean server process (never from this one,
    # whose Polars/NumPy threads make fork unsafe); the task's module is preloaded.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["vecloss.reference", "vecloss.kernels.pooled"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def check_main_guard() -> None:
    """Refuse, before any work, a process pool started from a script without an
    ``if __name__ == "__main__":`` guard: each worker process imports the script again to
    start (forkserver, as spawn), runs its top-level code, and the pool breaks
    (``BrokenProcessPool``) after running the script once per worker."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return  # a notebook, python -c, the REPL: nothing to import again
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return
    if not any(isinstance(node, ast.If) and _tests_main(node.test) for node in tree.body):
        msg = (
            f"engine 'processes' starts worker processes that import {path} again, and its "
            'top-level code would run again in each (it has no if __name__ == "__main__": '
            "guard); hint: put the script's work under that guard, or use the vectorized "
            "engine (or 'threads')"
        )
        raise UsageError(msg)


def _tests_main(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    texts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and texts)


def pooled_losses(
    frame: pl.DataFrame,
    *,
    kind: PoolKind,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
    chunk_size: int | None = None,
) -> FloatArray:
    """Per-building (or per-chunk) tasks on a thread or process pool."""
    buildings = _records(frame)
    workers = workers or os.cpu_count() or 1
    with _executor(kind, workers) as pool:
        if chunk_size is None:
            by_id: dict[Hashable, Future[float]] = {
                b[ID]: pool.submit(reference_loss, b, years, discount_rate, formula)
                for b in buildings
            }
            return np.array([by_id[b[ID]].result() for b in buildings], dtype=np.float64)
        task: Callable[..., list[float]] = reference_chunk
        chunks = [
            pool.submit(task, buildings[i : i + chunk_size], years, discount_rate, formula)
            for i in range(0, len(buildings), chunk_size)
        ]
        return np.array([x for c in chunks for x in c.result()], dtype=np.float64)
