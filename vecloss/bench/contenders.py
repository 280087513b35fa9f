"""What the benchmark races: vecloss's engines, the baselines, and peers.

``vectorized`` is ``vecloss.losses`` (validation on, the kernels it picks for
the size); ``kernel`` the same pass without validation, so their difference is
what validation costs; ``numpy`` and ``compiled`` are ``vecloss.losses`` forced
onto the NumPy kernels (``VECLOSS_JIT=0``: one ufunc per operation) or the
fused compiled loops (``VECLOSS_JIT=1``, the ``jit`` extra). Every
contender maps a validated portfolio frame to its loss column, except
the memory floor, which only touches the same bytes (it reads the four input
columns and writes one output column, in the same blocks and threads as the
vectorized engine) and so bounds what any pass over them can cost.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import polars as pl

from vecloss import formulas
from vecloss.api import losses
from vecloss.exceptions import UsageError
from vecloss.formulas import INPUTS, FloatArray, Formula
from vecloss.kernels import compute_loss
from vecloss.kernels.blocks import for_each_block, use_jit
from vecloss.names import BASELINES, CONTENDERS, PEERS

__all__ = [
    "BASELINES",
    "CONTENDERS",
    "PEERS",
    "Contender",
    "duckdb_sql",
    "make_contender",
    "polars_expr",
    "with_jit",
]

Contender = Callable[[pl.DataFrame], FloatArray | None]
T = TypeVar("T")

CHUNK_SIZE = 10_000


def polars_expr(formula: str | Formula, years: int, discount_rate: float) -> pl.Expr:
    """The formula as Polars' own expression, as its declaration gives it (the peer)."""
    expr = formulas.get(formula).polars_loss(years, discount_rate)
    if expr is None:
        msg = f"formula {formulas.get(formula).name!r} declares no Polars expression to race"
        raise UsageError(msg)
    return cast("pl.Expr", expr)


def duckdb_sql(formula: str | Formula, years: int, discount_rate: float) -> str:
    """The formula as a DuckDB query over the table ``portfolio`` (the peer)."""
    query = formulas.get(formula).sql_loss(years, discount_rate)
    if query is None:
        msg = f"formula {formulas.get(formula).name!r} declares no SQL to race"
        raise UsageError(msg)
    return query


def _floor(frame: pl.DataFrame, workers: int) -> None:
    cols = [frame[c].to_numpy() for c in INPUTS]
    out = np.empty(frame.height)

    def block(lo: int, hi: int) -> None:
        np.add(cols[0][lo:hi], cols[1][lo:hi], out=out[lo:hi])
        np.add(out[lo:hi], cols[2][lo:hi], out=out[lo:hi])
        np.add(out[lo:hi], cols[3][lo:hi], out=out[lo:hi])

    for_each_block(frame.height, block, workers=workers)


def with_jit(setting: str, run: Callable[[], T]) -> T:
    """``run()`` with ``VECLOSS_JIT`` set: ``0`` the NumPy kernels, ``1`` the compiled ones."""
    before = os.environ.get("VECLOSS_JIT")
    os.environ["VECLOSS_JIT"] = setting
    try:
        return run()
    finally:
        if before is None:
            del os.environ["VECLOSS_JIT"]
        else:
            os.environ["VECLOSS_JIT"] = before


def make_contender(
    name: str,
    *,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
) -> Contender:
    """The callable that computes ``name``'s loss column for a validated frame."""
    workers = workers or os.cpu_count() or 1
    model: dict[str, Any] = {"formula": formula, "years": years, "discount_rate": discount_rate}
    if name == "vectorized":
        return lambda frame: losses(frame, **model)["loss"].to_numpy()
    if name in ("numpy", "compiled"):
        setting = "0" if name == "numpy" else "1"
        return lambda frame: with_jit(setting, lambda: losses(frame, **model)["loss"].to_numpy())
    if name == "kernel":  # the vectorized kernel alone, validation off
        return lambda frame: compute_loss(
            frame,
            engine="vectorized",
            workers=workers,
            jit=use_jit(frame.height, in_memory=True),
            **model,
        )
    if name in ("loop", "threads", "processes"):
        return lambda frame: compute_loss(frame, engine=name, workers=workers, **model)
    if name.endswith("-chunked"):
        engine = name.removesuffix("-chunked")
        return lambda frame: compute_loss(
            frame, engine=engine, workers=workers, chunk_size=CHUNK_SIZE, **model
        )
    if name == "polars":
        expr = polars_expr(formula, years, discount_rate)
        return lambda frame: frame.select(expr).to_series().to_numpy()
    if name == "duckdb":
        import duckdb

        sql = duckdb_sql(formula, years, discount_rate)
        con = duckdb.connect()
        con.execute(f"set threads = {workers}")

        def run_duckdb(frame: pl.DataFrame) -> FloatArray:
            con.register("portfolio", frame.to_arrow())
            result: FloatArray = con.sql(sql).to_arrow_table().column("loss").to_numpy()
            con.unregister("portfolio")
            return result

        return run_duckdb
    if name == "floor":
        return lambda frame: _floor(frame, workers)
    msg = f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}"
    raise ValueError(msg)
