"""Totals, counts and mean loss per group of one or more input columns, batch by batch."""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from vecloss.formulas import FloatArray
from vecloss.options import group_columns

__all__ = ["GroupTotals", "group_columns"]


class GroupTotals:
    """Accumulate per-group sums over batches; combine them exactly at the end.

    Each batch contributes one partial sum per group and pair (Polars' sum, in
    floating point); :meth:`frame` adds the partials of a group exactly
    (:func:`math.fsum`), so a group total carries only the rounding of the batch
    sums, and, unlike the portfolio total, its last bits may depend on where
    batches start.
    """

    def __init__(self, by: str | Sequence[str], pairs: Sequence[tuple[int, float]]) -> None:
        self.by = list(group_columns(by))
        self.pairs = list(pairs)
        self._partials: list[pl.DataFrame] = []

    def add(self, rows: pl.DataFrame, losses: Sequence[FloatArray]) -> None:
        """Add the good rows of a batch (with the ``by`` column) and their losses per pair."""
        for (years, rate), loss in zip(self.pairs, losses, strict=True):
            self._partials.append(
                rows.select(*self.by)
                .with_columns(loss=pl.Series("loss", loss))
                .group_by(self.by)
                .agg(buildings=pl.len(), total_loss=pl.col("loss").sum())
                .with_columns(years=pl.lit(years, pl.Int64), discount_rate=pl.lit(rate, pl.Float64))
            )

    def merge(self, other: GroupTotals) -> None:
        """Add the partial sums another accumulator gathered (say, on a Dask worker)."""
        self._partials.extend(other._partials)

    def frame(self) -> pl.DataFrame:
        """One row per (years, discount rate, group): buildings, total_loss, mean_loss."""
        keys = ["years", "discount_rate", *self.by]
        if not self._partials:
            return pl.DataFrame(
                schema={
                    "years": pl.Int64,
                    "discount_rate": pl.Float64,
                    **dict.fromkeys(self.by, pl.String),
                    "buildings": pl.UInt32,
                    "total_loss": pl.Float64,
                    "mean_loss": pl.Float64,
                }
            )
        grouped = (
            pl.concat(self._partials)
            .group_by(keys, maintain_order=True)
            .agg(pl.col("buildings").sum(), pl.col("total_loss"))
        )
        totals = [math.fsum(parts) for parts in grouped["total_loss"].to_list()]
        return (
            grouped.with_columns(total_loss=pl.Series(totals, dtype=pl.Float64))
            .with_columns(mean_loss=pl.col("total_loss") / pl.col("buildings"))
            .sort(keys, nulls_last=True)
        )
