"""Validate and compute one batch: a fused fast path, and the diagnostic path behind it.

The fast path covers a clean batch of numeric columns without nulls: the
vectorized engine computes the loss and checks every numeric rule block by
block, in cache, and ids are checked for repeats. Only when something is wrong
(or the types need parsing, or a baseline engine is asked for) does the batch
take the diagnostic path, which evaluates every rule as a Polars expression and
names each failing row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from vecloss.engines import compute_loss
from vecloss.engines.vectorized import checked_losses
from vecloss.schema import ID, NUMERIC
from vecloss.validate import ROW, SeenIds, later_duplicates, reject_rows, split_valid

__all__ = ["Model", "compute_batch", "no_rejects"]


@dataclass(frozen=True)
class Model:
    """What to compute and how: the formula, its parameters, the engine."""

    formula: str = "complex"
    years: int = 10
    discount_rate: float = 0.05
    engine: str = "vectorized"
    workers: int | None = None
    chunk_size: int | None = None


def _fast_path_applies(batch: pl.DataFrame, model: Model) -> bool:
    if model.engine != "vectorized" or batch[ID].null_count():
        return False
    return all(
        batch.schema[c.name].is_numeric() and batch[c.name].null_count() == 0 for c in NUMERIC
    )


def compute_batch(
    batch: pl.DataFrame,
    model: Model,
    *,
    row_offset: int = 1,
    seen: SeenIds | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a batch (columns already checked) into its good rows plus ``loss``, and rejects.

    The good rows keep the batch's columns, numeric ones as Float64, in input
    order. Rejected rows keep their original values, ``__row`` (from
    ``row_offset``) and a ``reason``. ``seen`` carries the ids of earlier
    batches; a repeat of one is rejected.
    """
    if _fast_path_applies(batch, model):
        valid = batch.with_columns(pl.col(c.name).cast(pl.Float64) for c in NUMERIC)
        columns = {c.name: valid[c.name].to_numpy() for c in NUMERIC}
        loss, ok = checked_losses(
            columns,
            formula=model.formula,
            years=model.years,
            discount_rate=model.discount_rate,
            workers=model.workers,
        )
        if ok and later_duplicates(batch[ID]) is None:
            valid = valid.with_columns(loss=pl.Series("loss", loss))
            again = seen.add(valid[ID]) if seen is not None else None
            if again is None or not again.any():
                return valid, no_rejects(batch)
            indexed = batch.with_row_index(ROW, offset=row_offset)
            return valid.filter(~again), reject_rows(indexed, again, ID, "duplicate_id")
    return _diagnose(batch, model, row_offset=row_offset, seen=seen)


def no_rejects(batch: pl.DataFrame) -> pl.DataFrame:
    """An empty frame of rejects with the columns ``batch``'s rejects would have."""
    return batch.clear().with_row_index(ROW).with_columns(reason=pl.lit(None, pl.String))


def _diagnose(
    batch: pl.DataFrame, model: Model, *, row_offset: int, seen: SeenIds | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    checked = split_valid(batch, row_offset=row_offset)
    valid, bad = checked.valid, [checked.rejected]
    if seen is not None:
        again = seen.add(valid[ID])
        if again.any():
            bad.append(reject_rows(valid, again, ID, "duplicate_id"))
            valid = valid.filter(~again)
    loss = compute_loss(
        valid,
        formula=model.formula,
        years=model.years,
        discount_rate=model.discount_rate,
        engine=model.engine,
        workers=model.workers,
        chunk_size=model.chunk_size,
    )
    overflow = ~np.isfinite(loss)
    if overflow.any():
        bad.append(reject_rows(valid, pl.Series(overflow), "loss", "loss_overflow"))
        valid, loss = valid.filter(~overflow), loss[~overflow]
    rejected = pl.concat(bad, how="diagonal_relaxed").sort(ROW) if len(bad) > 1 else bad[0]
    return valid.drop(ROW).with_columns(loss=pl.Series("loss", loss)), rejected
