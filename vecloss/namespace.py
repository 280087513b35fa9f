"""The Polars-native surface: ``vecloss.loss()`` expressions and ``.vecloss`` namespaces.

Use::

    df = vecloss.read("examples/data.json")
    df.with_columns(vecloss.loss(years=30))          # an expression
    df.vecloss.losses(years=30)                      # vecloss.losses(df, years=30)
    pl.scan_parquet("p.parquet").vecloss.losses().collect()   # lazy

The expression runs the same kernel as :func:`vecloss.losses`, so it
gives the same bits; but inside an expression there is no validation: a null
or NaN input gives a NaN loss. Validate first (``vecloss.read``,
``df.vecloss.losses``) when the data may be dirty.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from vecloss.engines.vectorized import vectorized_losses
from vecloss.formulas import INPUTS, Formula, check_parameters

__all__ = ["VeclossFrame", "VeclossLazyFrame", "loss"]


def loss(*, formula: Formula = "complex", years: int = 10, discount_rate: float = 0.05) -> pl.Expr:
    """An expression for the loss column, from the schema's four numeric columns.

    Elementwise, so it works in ``select``, ``with_columns``, lazily and in
    ``group_by(...).agg(vecloss.loss().sum())``.
    """
    check_parameters(formula, years, discount_rate)

    def apply(inputs: pl.Series) -> pl.Series:
        cost, area, prob, infl = (inputs.struct.field(name).to_numpy() for name in INPUTS)
        loss = vectorized_losses(
            (cost, area, prob, infl), formula=formula, years=years, discount_rate=discount_rate
        )
        return pl.Series("loss", loss, dtype=pl.Float64)

    return (
        pl.struct([pl.col(name).cast(pl.Float64) for name in INPUTS])
        .map_batches(apply, return_dtype=pl.Float64, is_elementwise=True)
        .alias("loss")
    )


@pl.api.register_dataframe_namespace("vecloss")
class VeclossFrame:
    """``df.vecloss``: the vecloss API on a Polars DataFrame."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def losses(self, **options: Any) -> pl.DataFrame:
        """``vecloss.losses(df, **options)``: validated, with a ``loss`` column."""
        from vecloss.portfolio import losses

        result: pl.DataFrame = losses(self._frame, **options)
        return result


@pl.api.register_lazyframe_namespace("vecloss")
class VeclossLazyFrame:
    """``lf.vecloss``: add the loss column to a lazy query (no validation, see the module)."""

    def __init__(self, frame: pl.LazyFrame) -> None:
        self._frame = frame

    def losses(
        self, *, formula: Formula = "complex", years: int = 10, discount_rate: float = 0.05
    ) -> pl.LazyFrame:
        """The query plus a ``loss`` column."""
        return self._frame.with_columns(
            loss(formula=formula, years=years, discount_rate=discount_rate)
        )
