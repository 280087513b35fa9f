"""Kernels: interchangeable ways of computing one loss column from validated columns.

``vectorized`` (the default: whole-column NumPy in cache-sized blocks, or the
compiled twin of :mod:`vecloss.kernels.compiled` when the ``jit`` extra is
installed and the run is large enough to pay for it) and the per-building
baselines ``loop``, ``threads`` and ``processes`` (:mod:`vecloss.kernels.pooled`).
Where the parts of a run execute (in-process or on Dask) is not a kernel's
business: see :mod:`vecloss.run.executors`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from vecloss import formulas
from vecloss.formulas import FloatArray, Formula
from vecloss.kernels import pooled
from vecloss.kernels.blocks import vectorized_losses
from vecloss.names import KERNELS, KernelName

__all__ = ["KERNELS", "Kernel", "KernelName", "compute_loss"]


@dataclass(frozen=True)
class Kernel:
    """How one loss column is computed: the kernel's name and its settings.

    ``jit`` selects the compiled twin of the vectorized kernel; it is decided
    once per run (:func:`vecloss.kernels.blocks.use_jit`), never per batch.
    """

    name: str = "vectorized"
    workers: int | None = None
    chunk_size: int | None = None
    jit: bool = False

    def losses(
        self, frame: pl.DataFrame, formula: str | Formula, years: int, rate: float
    ) -> FloatArray:
        """The loss column of a validated frame (numeric columns Float64, no nulls)."""
        return compute_loss(
            frame,
            formula=formula,
            years=years,
            discount_rate=rate,
            engine=self.name,
            workers=self.workers,
            chunk_size=self.chunk_size,
            jit=self.jit,
        )


def compute_loss(
    frame: pl.DataFrame,
    *,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    engine: str = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
    jit: bool = False,
) -> FloatArray:
    """The loss column of a validated frame by the kernel named ``engine``."""
    if engine == "vectorized":
        spec = formulas.get(formula)
        return vectorized_losses(
            {name: frame[name].to_numpy() for name in spec.inputs},
            formula=formula,
            years=years,
            discount_rate=discount_rate,
            workers=workers,
            jit=jit,
        )
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
    msg = f"unknown kernel {engine!r}; choose one of {', '.join(KERNELS)}"
    raise ValueError(msg)  # the runner checks the engine name first: a bug if it gets here
