"""Validate one batch and compute its losses for every scenario pair.

The fast path covers a clean batch of numeric columns without nulls: the
vectorized kernel computes the loss and checks every numeric rule block by
block, in cache, and ids are checked for repeats. Only when something is wrong
(or the types need parsing, or a baseline kernel is asked for) does the batch
take the diagnostic path, which evaluates every rule as a Polars expression and
names each failing row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from vecloss.checks.ids import Seen, later_duplicates, later_duplicates_ahead
from vecloss.checks.rules import ROW, add_failure, no_rejects, reject_rows, split_valid
from vecloss.chunks import aligned_views
from vecloss.formulas import FloatArray, Formula, discount_factor
from vecloss.kernels import Kernel
from vecloss.kernels.blocks import FusedLoss, checked_losses
from vecloss.kernels.threads import cores
from vecloss.scenario import Scenario
from vecloss.schema import ID, NUMERIC, Column, Reason

__all__ = ["Batch", "as_floats", "check_batch", "clean_losses", "fast_path_applies", "loss_table"]

#: Id types whose values all fit an int64, so the compiled loop can check their order.
_INT64_SAFE = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


@dataclass
class Batch:
    """A checked batch: the good rows (numeric columns Float64, ``__row``), one loss
    column per scenario pair, and the rejected rows (original values, ``__row``,
    ``__failures``)."""

    valid: pl.DataFrame
    losses: list[FloatArray]
    rejected: pl.DataFrame


def loss_table(ids: pl.DataFrame, scenario: Scenario, losses: list[FloatArray]) -> pl.DataFrame:
    """``ids`` (and any columns carried with them) plus ``loss``; for a grid, the long table
    ``..., years, discount_rate, loss``, one block of rows per pair, years-major."""
    if not scenario.grid:
        return ids.with_columns(loss=pl.Series("loss", losses[0]))
    return pl.concat(
        [
            ids.with_columns(
                years=pl.lit(years, pl.Int64),
                discount_rate=pl.lit(rate, pl.Float64),
                loss=pl.Series("loss", loss),
            )
            for (years, rate), loss in zip(scenario.pairs, losses, strict=True)
        ]
    )


def fast_path_applies(
    batch: pl.DataFrame, kernel: Kernel, numeric: tuple[Column, ...] = NUMERIC
) -> bool:
    """Whether a batch can take the fused path: numbers without nulls, the vectorized kernel."""
    if kernel.name != "vectorized" or batch[ID].null_count():
        return False
    return all(
        batch.schema[c.name].is_numeric() and batch[c.name].null_count() == 0 for c in numeric
    )


def as_floats(frame: pl.DataFrame, numeric: tuple[Column, ...] = NUMERIC) -> pl.DataFrame:
    """``frame`` with the numeric columns as Float64 (``frame`` itself when they already are:
    no cast, no new frame)."""
    if all(frame.schema[c.name] == pl.Float64 for c in numeric):
        return frame
    return frame.with_columns(pl.col(c.name).cast(pl.Float64) for c in numeric)


def clean_losses(
    frame: pl.DataFrame, formula: Formula, years: int, rate: float, kernel: Kernel
) -> FusedLoss | None:
    """The loss column of a frame that is clean, straight from NumPy views of its columns;
    None when anything needs a closer look (then :func:`check_batch` names every problem).

    The lean twin of :func:`check_batch`'s fast path for a whole frame from Python
    (no row numbers, no casts, no frames built): numeric columns without nulls, the
    vectorized kernel with its fused checks, ids without nulls or repeats. The same
    kernel on the same values, so the same bits.
    """
    if kernel.name != "vectorized":
        return None
    ids = frame.get_column(ID)
    if ids.null_count():
        return None
    columns = []
    for column in formula.numeric:
        series = frame.get_column(column.name)
        if not series.dtype.is_numeric() or series.null_count():
            return None
        columns.append(series if isinstance(series.dtype, pl.Float64) else series.cast(pl.Float64))
    checked = _distinct_and_checked(columns, ids, formula, years, rate, kernel)
    return checked if checked.ok else None


def _distinct_and_checked(
    columns: list[pl.Series],
    ids: pl.Series,
    formula: Formula,
    years: int,
    rate: float,
    kernel: Kernel,
) -> FusedLoss:
    """:func:`_fused`, with ``ok`` false also when an id repeats; ids not in increasing order
    are checked on a thread of their own while the kernel runs."""
    ahead = later_duplicates_ahead(ids)
    # (with the check on a thread of its own, the kernel leaves it a core)
    workers = None if ahead is None else max(1, (kernel.workers or cores()) - 1)
    checked = _fused(columns, ids, formula, years, rate, kernel, workers=workers)
    if not checked.ok:
        if ahead is not None:
            ahead.cancel()
        return checked
    if checked.increasing:
        return checked
    repeats = ahead.result() if ahead is not None else later_duplicates(ids)
    return checked if repeats is None else replace(checked, ok=False)


def _fused(
    columns: list[pl.Series],
    ids: pl.Series,
    formula: Formula,
    years: int,
    rate: float,
    kernel: Kernel,
    *,
    workers: int | None = None,
) -> FusedLoss:
    """The fused kernel on NumPy views of the numeric columns' chunks (Float64, no nulls, in
    :attr:`Formula.numeric` order) and of the ids' when they fit an int64; on ``workers``
    threads (default: the kernel's)."""
    kind = ids.dtype
    keys = (
        ids if isinstance(kind, pl.Int64) else ids.cast(pl.Int64) if kind in _INT64_SAFE else None
    )
    views = aligned_views(columns if keys is None else [*columns, keys])
    return checked_losses(
        dict(zip((c.name for c in formula.numeric), views, strict=False)),
        ids=None if keys is None else views[-1],
        formula=formula,
        years=years,
        discount_rate=rate,
        workers=workers or kernel.workers,
        jit=kernel.jit,
    )


def check_batch(
    batch: pl.DataFrame,
    scenario: Scenario,
    kernel: Kernel,
    *,
    row_offset: int = 1,
    seen: Seen | None = None,
    strings: bool = True,
) -> Batch:
    """Split a batch (its columns already checked) into good rows with losses, and rejects.

    ``seen`` carries the ids of earlier batches; a repeat of one is rejected.
    With several pairs, the part of each formula that does not depend on the
    pair is computed once per building (``S * p``: once, or once per distinct T for a
    formula whose severity ``S`` depends on the horizon, as the simple one's does) and each
    pair is one multiply by its scalar ``1 / (1 + d)**T``: the same operations, in the same
    order, as the one-pair kernel, so the same bits. A building whose loss
    overflows in any pair is rejected from all of them.
    """
    pairs, formula = scenario.pairs, scenario.spec
    if len(pairs) == 1:
        ((years, rate),) = pairs
        valid, loss, rejected = _one_pair(
            batch, formula, years, rate, kernel, row_offset, seen, strings
        )
        return Batch(valid, [loss], rejected)
    growth_years = sorted(scenario.years) if formula.uses_years else [0]
    valid, base, rejected = _one_pair(
        batch, formula, growth_years[0], 0.0, kernel, row_offset, seen, strings
    )
    bases = {growth_years[0]: base}
    for years in growth_years[1:]:
        bases[years] = kernel.losses(valid, formula, years, 0.0)
    losses: list[FloatArray] = []
    with np.errstate(over="ignore", invalid="ignore"):
        for years, rate in pairs:
            base = bases[years if formula.uses_years else 0]
            losses.append(np.multiply(base, discount_factor(years, rate)))
    overflow = np.zeros(valid.height, dtype=bool)
    for loss in losses:
        overflow |= ~(loss < np.inf)
    if overflow.any():
        indexed = batch.with_row_index(ROW, offset=row_offset)
        extra = _originals(indexed, valid.filter(overflow), "loss", Reason.LOSS_OVERFLOW)
        rejected = pl.concat([rejected, extra], how="diagonal_relaxed").sort(ROW)
        valid = valid.filter(~overflow)
        losses = [loss[~overflow] for loss in losses]
    return Batch(valid, losses, rejected)


def _one_pair(
    batch: pl.DataFrame,
    formula: Formula,
    years: int,
    rate: float,
    kernel: Kernel,
    row_offset: int,
    seen: Seen | None,
    strings: bool,
) -> tuple[pl.DataFrame, FloatArray, pl.DataFrame]:
    indexed = batch.with_row_index(ROW, offset=row_offset)
    if fast_path_applies(batch, kernel, formula.numeric):
        valid = as_floats(indexed, formula.numeric)
        ids = batch[ID]
        columns = [valid[c.name] for c in formula.numeric]
        if seen is not None and seen.deferred:  # its one check at the end covers this batch's
            checked = _fused(columns, ids, formula, years, rate, kernel)
        else:
            checked = _distinct_and_checked(columns, ids, formula, years, rate, kernel)
        if checked.ok:
            again = seen.add(ids, rising=checked.increasing) if seen is not None else None
            if again is None or not again.any():
                return valid, checked.loss, no_rejects(indexed)
            keep = ~again.to_numpy()
            return (
                valid.filter(~again),
                checked.loss[keep],
                reject_rows(indexed, again, ID, Reason.DUPLICATE_ID),
            )
    return _diagnose(indexed, formula, years, rate, kernel, seen, strings)


def _diagnose(
    indexed: pl.DataFrame,
    formula: Formula,
    years: int,
    rate: float,
    kernel: Kernel,
    seen: Seen | None,
    strings: bool = True,
) -> tuple[pl.DataFrame, FloatArray, pl.DataFrame]:
    """Every rule as a Polars expression: each failing row named, with every reason."""
    checked = split_valid(indexed, strings=strings, numeric=formula.numeric)
    valid, bad = checked.valid, [checked.rejected]
    if seen is not None:  # every row's id counts, valid or not (see vecloss.checks.ids)
        ident = pl.col(ID)
        firsts = indexed.filter(ident.is_not_null() & ident.is_first_distinct())
        again = seen.add(firsts[ID])
        if again.any():
            rows = firsts[ROW].filter(again).implode()
            bad[0] = add_failure(bad[0], bad[0][ROW].is_in(rows), ID, Reason.DUPLICATE_ID)
            repeated = valid[ROW].is_in(rows)
            bad.append(_originals(indexed, valid.filter(repeated), ID, Reason.DUPLICATE_ID))
            valid = valid.filter(~repeated)
    loss = kernel.losses(valid, formula, years, rate)
    overflow = pl.Series(~np.isfinite(loss))
    if overflow.any():
        bad.append(_originals(indexed, valid.filter(overflow), "loss", Reason.LOSS_OVERFLOW))
        valid, loss = valid.filter(~overflow), loss[~overflow.to_numpy()]
    rejected = pl.concat(bad, how="diagonal_relaxed").sort(ROW) if len(bad) > 1 else bad[0]
    return valid, loss, rejected


def _originals(
    indexed: pl.DataFrame, rows: pl.DataFrame, column: str, reason: Reason
) -> pl.DataFrame:
    """The original rows numbered like ``rows``, as rejects with one reason."""
    return reject_rows(indexed, indexed[ROW].is_in(rows[ROW].implode()), column, reason)
