"""Engines: interchangeable ways of computing the same loss column.

``vectorized`` is the default; ``loop``, ``threads`` and ``processes`` are the
per-building baselines (:mod:`vecloss.engines.pooled`).
"""

from __future__ import annotations

from typing import Literal, get_args

import polars as pl

from vecloss.engines.vectorized import vectorized_losses
from vecloss.exceptions import UsageError
from vecloss.formulas import INPUTS, FloatArray

__all__ = ["ENGINES", "Engine", "compute_loss", "vectorized_losses"]

Engine = Literal["vectorized", "loop", "threads", "processes", "dask"]
ENGINES: tuple[str, ...] = get_args(Engine)


def compute_loss(
    frame: pl.DataFrame,
    *,
    formula: str = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    engine: str = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
) -> FloatArray:
    """The loss column of a validated frame (numeric columns Float64, no nulls)."""
    if engine in ("vectorized", "dask"):  # a Dask worker runs the vectorized pass
        cost, area, prob, infl = (frame[name].to_numpy() for name in INPUTS)
        return vectorized_losses(
            (cost, area, prob, infl),
            formula=formula,
            years=years,
            discount_rate=discount_rate,
            workers=workers,
        )
    from vecloss.engines import pooled

    if engine == "loop":
        return pooled.loop_losses(frame, formula=formula, years=years, discount_rate=discount_rate)
    if engine in ("threads", "processes"):
        return pooled.pooled_losses(
            frame,
            kind="threads" if engine == "threads" else "processes",
            formula=formula,
            years=years,
            discount_rate=discount_rate,
            workers=workers,
            chunk_size=chunk_size,
        )
    msg = f"unknown engine {engine!r}; hint: choose one of {', '.join(ENGINES)}"
    raise UsageError(msg)
