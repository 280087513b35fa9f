"""The names users choose from, each list written once: kernels, engines, bench contenders.

A *kernel* computes one loss column; an *engine* is the command line's (and ``run``'s)
name for a kernel choice, or ``dask`` (the vectorized kernel on the Dask executor); a
*contender* is what ``vecloss bench`` races. Plain data, so that the command line lists
them without importing the kernels or the bench.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BASELINES",
    "CONTENDERS",
    "CONTENDERS_ABOUT",
    "ENGINES",
    "KERNELS",
    "PEERS",
    "Engine",
    "KernelName",
]

KernelName = Literal["vectorized", "loop", "threads", "processes"]
KERNELS: tuple[str, ...] = get_args(KernelName)

#: ``--engine``: a kernel, or ``dask`` (the vectorized kernel on the Dask executor).
Engine = Literal["vectorized", "loop", "threads", "processes", "dask"]
ENGINES: tuple[str, ...] = get_args(Engine)

#: What ``vecloss bench`` races, and what each one is.
CONTENDERS_ABOUT = {
    "vectorized": "vecloss.losses as shipped (validation on)",
    "compiled": "the same with the numba kernels always on",
    "kernel": "the vectorized kernel alone (validation off)",
    "numpy": "vecloss.losses with the NumPy kernels only",
    "loop": "a Python loop over buildings (baseline)",
    "threads": "one thread-pool task per building (baseline)",
    "processes": "one process-pool task per building (the original design)",
    "threads-chunked": "thread-pool tasks of 10,000 buildings",
    "processes-chunked": "process-pool tasks of 10,000 buildings",
    "polars": "the formula as a Polars expression (peer)",
    "duckdb": "the formula in DuckDB SQL (peer)",
    "floor": "copying the input once (the memory-bandwidth floor)",
}
CONTENDERS: tuple[str, ...] = tuple(CONTENDERS_ABOUT)
BASELINES = ("loop", "threads", "processes", "threads-chunked", "processes-chunked")
PEERS = ("polars", "duckdb", "floor")
