"""The Polars-native surface: ``vecloss.loss()`` expressions and ``.vecloss`` namespaces.

Use::

    df = vecloss.read("examples/data.json")
    df.with_columns(vecloss.loss(years=30))          # an expression
    df.vecloss.losses(years=30)                      # vecloss.losses(df, years=30)
    pl.scan_parquet("p.parquet").vecloss.losses().collect()   # lazy

The parameters follow :meth:`vecloss.scenario.Scenario.parse`, as everywhere:
a sequence of years or rates is a grid. ``loss()`` then gives a struct column
with one field per pair (``loss_10_0.05``, ...; ``.struct.unnest()`` spreads
it), and ``lf.vecloss.losses`` the long table, as :func:`vecloss.losses` does.

The expression runs the same NumPy kernel as :func:`vecloss.losses` (the
compiled one only with ``VECLOSS_JIT=1``: an expression cannot know the size
of its input up front), but inside an expression there is no validation: a
null or NaN input gives a NaN loss. Validate first (``vecloss.read``,
``df.vecloss.losses``) when the data may be dirty.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from vecloss.api import losses
from vecloss.formulas import INPUTS
from vecloss.kernels.blocks import use_jit, vectorized_losses
from vecloss.scenario import Formula, Rates, Scenario, Years
from vecloss.schema import ID

__all__ = ["VeclossFrame", "VeclossLazyFrame", "loss"]


def _field(years: int, rate: float) -> str:
    return f"loss_{years}_{rate}"


def loss(
    *, formula: Formula = "complex", years: Years = 10, discount_rate: Rates = 0.05
) -> pl.Expr:
    """An expression for the loss column, from the schema's four numeric columns.

    Elementwise, so it works in ``select``, ``with_columns``, lazily and in
    ``group_by(...).agg(vecloss.loss().sum())``. For a grid, a struct with one
    Float64 field per (years, discount rate) pair.
    """
    scenario = Scenario.parse(formula, years, discount_rate)
    jit = use_jit(None)

    def one(columns: tuple[Any, ...], t: int, d: float) -> Any:
        return vectorized_losses(
            columns, formula=scenario.formula, years=t, discount_rate=d, jit=jit
        )

    def apply(inputs: pl.Series) -> pl.Series:
        columns = tuple(inputs.struct.field(name).to_numpy() for name in INPUTS)
        if not scenario.grid:
            return pl.Series("loss", one(columns, *scenario.single), dtype=pl.Float64)
        fields = [pl.Series(_field(t, d), one(columns, t, d)) for t, d in scenario.pairs]
        return pl.struct(fields, eager=True).alias("loss")

    dtype = (
        pl.Struct({_field(t, d): pl.Float64 for t, d in scenario.pairs})
        if scenario.grid
        else pl.Float64
    )
    return (
        pl.struct([pl.col(name).cast(pl.Float64) for name in INPUTS])
        .map_batches(apply, return_dtype=dtype, is_elementwise=True)
        .alias("loss")
    )


@pl.api.register_dataframe_namespace("vecloss")
class VeclossFrame:
    """``df.vecloss``: the vecloss API on a Polars DataFrame."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def losses(self, **options: Any) -> pl.DataFrame:
        """``vecloss.losses(df, **options)``: validated, with a ``loss`` column."""
        result: pl.DataFrame = losses(self._frame, **options)
        return result


@pl.api.register_lazyframe_namespace("vecloss")
class VeclossLazyFrame:
    """``lf.vecloss``: add the loss column to a lazy query (no validation, see the module)."""

    def __init__(self, frame: pl.LazyFrame) -> None:
        self._frame = frame

    def losses(
        self, *, formula: Formula = "complex", years: Years = 10, discount_rate: Rates = 0.05
    ) -> pl.LazyFrame:
        """The query plus a ``loss`` column; a grid: the long table, as :func:`vecloss.losses`."""
        scenario = Scenario.parse(formula, years, discount_rate)
        if not scenario.grid:
            return self._frame.with_columns(
                loss(formula=formula, years=scenario.years[0], discount_rate=scenario.rates[0])
            )
        return pl.concat(
            [
                self._frame.select(
                    pl.col(ID),
                    years=pl.lit(t, pl.Int64),
                    discount_rate=pl.lit(d, pl.Float64),
                    loss=loss(formula=formula, years=t, discount_rate=d),
                )
                for t, d in scenario.pairs
            ]
        )
