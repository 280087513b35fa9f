"""Validate and compute one batch: a fused fast path, and the diagnostic path behind it.

The fast path covers a clean batch of numeric columns without nulls: the
vectorized engine computes the loss and checks every numeric rule block by
block, in cache, and ids are checked for repeats. Only when something is wrong
(or the types need parsing, or a baseline engine is asked for) does the batch
take the diagnostic path, which evaluates every rule as a Polars expression and
names each failing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from vecloss.engines import compute_loss
from vecloss.engines.vectorized import checked_losses
from vecloss.formulas import FloatArray, discount_factor
from vecloss.schema import ID, NUMERIC
from vecloss.validate import ROW, SeenIds, later_duplicates, reject_rows, split_valid

__all__ = ["Model", "as_pairs", "compute_batch", "fast_path_applies", "grid_batch", "no_rejects"]


@dataclass(frozen=True)
class Model:
    """What to compute and how: the formula, its parameters, the engine."""

    formula: str = "complex"
    years: int = 10
    discount_rate: float = 0.05
    engine: str = "vectorized"
    workers: int | None = None
    chunk_size: int | None = None

    def loss(self, valid: pl.DataFrame) -> FloatArray:
        """The loss column of validated rows, by this model's engine."""
        return compute_loss(
            valid,
            formula=self.formula,
            years=self.years,
            discount_rate=self.discount_rate,
            engine=self.engine,
            workers=self.workers,
            chunk_size=self.chunk_size,
        )


#: Id types whose values all fit an int64, so the compiled loop can check their order.
_INT64_SAFE = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def fast_path_applies(batch: pl.DataFrame, model: Model) -> bool:
    """Whether a batch can take the fused path: numbers without nulls, the vectorized pass."""
    if model.engine not in ("vectorized", "dask") or batch[ID].null_count():
        return False
    return all(
        batch.schema[c.name].is_numeric() and batch[c.name].null_count() == 0 for c in NUMERIC
    )


def _rejects(indexed: pl.DataFrame, rows: pl.Series, column: str, code: str) -> pl.DataFrame:
    """The original rows numbered ``rows``, as rejects with one reason."""
    return reject_rows(indexed, indexed[ROW].is_in(rows.implode()), column, code)


def compute_batch(
    batch: pl.DataFrame,
    model: Model,
    *,
    row_offset: int = 1,
    seen: SeenIds | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a batch (columns already checked) into its good rows plus ``loss``, and rejects.

    The good rows keep the batch's columns, numeric ones as Float64, in input
    order, and their row number ``__row`` (from ``row_offset``). Rejected rows
    keep their original values, ``__row`` and a ``reason``. ``seen`` carries the
    ids of earlier batches; a repeat of one is rejected.
    """
    indexed = batch.with_row_index(ROW, offset=row_offset)
    if fast_path_applies(batch, model):
        valid = indexed.with_columns(pl.col(c.name).cast(pl.Float64) for c in NUMERIC)
        ids = batch[ID]
        checked = checked_losses(
            {c.name: valid[c.name].to_numpy() for c in NUMERIC},
            ids=ids.cast(pl.Int64).to_numpy() if ids.dtype in _INT64_SAFE else None,
            formula=model.formula,
            years=model.years,
            discount_rate=model.discount_rate,
            workers=model.workers,
        )
        if checked.ok and (checked.increasing or later_duplicates(ids) is None):
            valid = valid.with_columns(loss=pl.Series("loss", checked.loss))
            again = seen.add(valid[ID]) if seen is not None else None
            if again is None or not again.any():
                return valid, no_rejects(indexed)
            return valid.filter(~again), reject_rows(indexed, again, ID, "duplicate_id")
    return _diagnose(indexed, model, seen=seen)


def _diagnose(
    indexed: pl.DataFrame, model: Model, *, seen: SeenIds | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    checked = split_valid(indexed)
    valid, bad = checked.valid, [checked.rejected]
    if seen is not None:
        again = seen.add(valid[ID])
        if again.any():
            bad.append(_rejects(indexed, valid.filter(again)[ROW], ID, "duplicate_id"))
            valid = valid.filter(~again)
    loss = model.loss(valid)
    overflow = pl.Series(~np.isfinite(loss))
    if overflow.any():
        bad.append(_rejects(indexed, valid.filter(overflow)[ROW], "loss", "loss_overflow"))
        valid, loss = valid.filter(~overflow), loss[~overflow.to_numpy()]
    rejected = pl.concat(bad, how="diagonal_relaxed").sort(ROW) if len(bad) > 1 else bad[0]
    return valid.with_columns(loss=pl.Series("loss", loss)), rejected


def grid_batch(
    batch: pl.DataFrame,
    model: Model,
    pairs: Sequence[tuple[int, float]],
    *,
    row_offset: int = 1,
    seen: SeenIds | None = None,
) -> tuple[pl.DataFrame, list[FloatArray], pl.DataFrame]:
    """Validate a batch once and give its losses for every (years, discount rate) pair.

    Returns the good rows (with ``__row``), one loss column per pair, and the
    rejects. The part of each formula that does not depend on the pair is
    computed once per building (complex: ``C * exp(i * A / 1000) * p``;
    simple: ``C * (1 + i)**T * p`` once per distinct T) and each pair is one
    multiply by its scalar ``1 / (1 + d)**T``: the same operations, in the same
    order, as the single-pair kernel, so the same bits. A building whose loss
    overflows in any pair is rejected from all of them.
    """
    growth_years = [0] if model.formula == "complex" else sorted({t for t, _ in pairs})
    first = replace(model, years=growth_years[0], discount_rate=0.0)
    valid, rejected = compute_batch(batch, first, row_offset=row_offset, seen=seen)
    bases = {growth_years[0]: valid["loss"].to_numpy()}
    valid = valid.drop("loss")
    for years in growth_years[1:]:
        bases[years] = replace(model, years=years, discount_rate=0.0).loss(valid)
    losses: list[FloatArray] = []
    with np.errstate(over="ignore", invalid="ignore"):
        for years, rate in pairs:
            base = bases[0 if model.formula == "complex" else years]
            losses.append(np.multiply(base, discount_factor(years, rate)))
    overflow = np.zeros(valid.height, dtype=bool)
    for loss in losses:
        overflow |= ~(loss < np.inf)
    if overflow.any():
        indexed = batch.with_row_index(ROW, offset=row_offset)
        extra = _rejects(indexed, valid.filter(overflow)[ROW], "loss", "loss_overflow")
        rejected = pl.concat([rejected, extra], how="diagonal_relaxed").sort(ROW)
        valid = valid.filter(~overflow)
        losses = [loss[~overflow] for loss in losses]
    return valid, losses, rejected


def no_rejects(indexed: pl.DataFrame) -> pl.DataFrame:
    """An empty frame of rejects with the columns this batch's rejects would have."""
    return indexed.clear().with_columns(reason=pl.lit(None, pl.String))


def as_pairs(years: Any, discount_rate: Any) -> list[tuple[int, float]]:
    """Every (years, discount rate) pair of a grid, years-major; scalars are one-item lists."""
    years_list = list(years) if isinstance(years, (list, tuple)) else [years]
    rates = list(discount_rate) if isinstance(discount_rate, (list, tuple)) else [discount_rate]
    return [(t, d) for t in years_list for d in rates]
