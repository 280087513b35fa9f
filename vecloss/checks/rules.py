"""The schema of :mod:`vecloss.schema` run over a batch: every rule, every failing row.

Validation never stops at the first problem: every rule is evaluated over the
whole batch and each failing row is kept with the list of every rule it breaks,
as data: a ``__failures`` column of ``{column, code}`` records (codes from
:class:`~vecloss.schema.Reason`). The readable ``reason`` text is made from
them in one place (:func:`reason_text`). :func:`block_ok` is the fast twin for
clean float blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from vecloss.schema import ID, NUMERIC, Column, Reason

__all__ = [
    "FAILURES",
    "ROW",
    "Split",
    "add_failure",
    "block_ok",
    "describe",
    "no_rejects",
    "reason_text",
    "reject_rows",
    "split_valid",
]

#: The 1-based row number of a row in its source, carried by every batch being checked.
ROW = "__row"
#: The failures of a rejected row: a list of ``{column, code}`` records.
FAILURES = "__failures"
FAILURE = pl.Struct({"column": pl.String, "code": pl.String})
#: The numeric columns checked, with their rules: the schema's (a formula may add columns).
Numeric = Sequence[Column]


def describe(column: str, reason: Reason, numeric: Numeric = NUMERIC) -> str:
    """One failure in words: ``floor_area: out_of_range (must be > 0)``."""
    rules = {c.name: c.rule for c in numeric}
    rule = rules.get(column) if reason is Reason.OUT_OF_RANGE else None
    if rule is not None:
        return f"{column}: {reason.code} (must be {rule.removeprefix('finite, ')})"
    return f"{column}: {reason.code}"


@cache
def _words(numeric: tuple[Column, ...]) -> dict[str, str]:
    """Every (column, reason) a reject can carry, in words: the ``reason`` text of a rejects
    file."""
    return {
        f"{column}\0{reason.code}": describe(column, reason, numeric)
        for column in (ID, "loss", *(c.name for c in numeric))
        for reason in Reason
    }


def _failure(column: str, reason: Reason) -> pl.Expr:
    return pl.struct(column=pl.lit(column), code=pl.lit(reason.code))


def reason_text(failures: pl.Expr, numeric: Numeric = NUMERIC) -> pl.Expr:
    """The ``reason`` column of a rejects file, from the ``__failures`` records."""
    keys = failures.list.eval(
        pl.concat_str(
            pl.element().struct.field("column"), pl.element().struct.field("code"), separator="\0"
        ).replace_strict(_words(tuple(numeric)), return_dtype=pl.String)
    )
    return keys.list.join("; ")


def _as_float(name: str, dtype: pl.DataType, *, strings: bool = True) -> pl.Expr:
    """The column as Float64: strings parsed when ``strings`` (text files), else none a number."""
    raw = pl.col(name)
    if dtype == pl.String:
        if not strings:  # a frame's string column: its values are text, not numbers
            return pl.lit(None, pl.Float64).alias(name)
        return raw.str.strip_chars().cast(pl.Float64, strict=False)
    return raw.cast(pl.Float64)


def _range_failure(col: Column, value: pl.Expr) -> pl.Expr:
    below = value <= col.low if col.low_open else value < col.low
    return (below | (value > col.high)).fill_null(value=False)


def _rules(
    schema: Mapping[str, pl.DataType], numeric: Numeric, *, strings: bool = True
) -> list[tuple[str, Reason, pl.Expr]]:
    """(column, reason, expression true on failing rows) for every rule."""
    ident = pl.col(ID)
    rules = [
        (ID, Reason.NULL, ident.is_null()),
        # the first row with an id is kept, every later one rejected, within
        # a batch and across batches alike (see vecloss.checks.ids.SeenIds)
        (ID, Reason.DUPLICATE_ID, ident.is_first_distinct().not_() & ident.is_not_null()),
    ]
    for col in numeric:
        raw = pl.col(col.name)
        value = _as_float(col.name, schema[col.name], strings=strings)
        rules.append((col.name, Reason.NULL, raw.is_null()))
        if schema[col.name] == pl.String:
            rules.append((col.name, Reason.NOT_NUMERIC, raw.is_not_null() & value.is_null()))
        finite = value.is_finite()
        rules.append((col.name, Reason.NOT_FINITE, finite.not_().fill_null(value=False)))
        rules.append((col.name, Reason.OUT_OF_RANGE, _range_failure(col, value) & finite))
    return rules


@dataclass
class Split:
    """One validated batch: the rows that pass and the rows that do not.

    ``valid`` has the numeric columns as Float64; ``rejected`` keeps the
    original values and adds ``__failures``, every rule the row breaks.
    """

    valid: pl.DataFrame
    rejected: pl.DataFrame


def no_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """An empty frame of rejects with the columns this frame's rejects would have."""
    return pl.DataFrame(schema={**frame.schema, FAILURES: pl.List(FAILURE)})


def split_valid(
    frame: pl.DataFrame, *, row_offset: int = 1, strings: bool = True, numeric: Numeric = NUMERIC
) -> Split:
    """Validate ``frame`` (its columns already checked) and split it.

    Both parts carry the row number ``__row`` (1-based, from ``row_offset``
    unless the frame has it already), so a reject names its row. With
    ``strings=False`` (frames from Python) a numeric column of strings is not
    parsed: each of its values is ``not_numeric``. ``numeric``: the columns checked as
    numbers, with their rules (a formula's extra columns too).
    """
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=row_offset)
    rules = _rules(frame.schema, numeric, strings=strings)
    casts = [_as_float(c.name, frame.schema[c.name], strings=strings) for c in numeric]
    flags = frame.select([expr.alias(str(k)) for k, (_, _, expr) in enumerate(rules)])
    bad = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not bad.any():
        return Split(frame.with_columns(casts), no_rejects(frame))
    failures = pl.concat_list(
        [pl.when(pl.col(str(k))).then(_failure(c, r)) for k, (c, r, _) in enumerate(rules)]
    ).list.drop_nulls()
    rejected = pl.concat(
        [frame.filter(bad), flags.filter(bad).select(failures.alias(FAILURES))], how="horizontal"
    )
    return Split(frame.filter(~bad).with_columns(casts), rejected)


def add_failure(
    rejected: pl.DataFrame, mask: pl.Series, column: str, reason: Reason
) -> pl.DataFrame:
    """Rejected rows with one more failure, first in their list, where ``mask`` holds."""
    if not mask.any():
        return rejected
    more = pl.concat_list(_failure(column, reason), pl.col(FAILURES))
    return rejected.with_columns(
        pl.when(mask).then(more).otherwise(pl.col(FAILURES)).alias(FAILURES)
    )


def reject_rows(frame: pl.DataFrame, mask: pl.Series, column: str, reason: Reason) -> pl.DataFrame:
    """The rows of ``frame`` (with ``__row``) where ``mask`` holds, as rejects with one reason."""
    return frame.filter(mask).with_columns(pl.concat_list(_failure(column, reason)).alias(FAILURES))


#: The bits of +inf: a float64 that is >= +0.0 and finite has a bit pattern below these, and
#: for such values the order of the bit patterns (as unsigned integers) is the order of the values.
_INF_BITS = np.uint64(0x7FF0000000000000)


def _bits(value: float) -> np.uint64:
    return np.uint64(np.array(value, dtype=np.float64).view(np.uint64)[()])


@cache
def _bit_bounds(col: Column) -> tuple[np.uint64 | None, np.uint64, bool]:
    """For a column bounded below by 0 or more: the least allowed bits (None: any), the bits it
    must stay below (or at, when the top is inclusive), whether the top is inclusive."""
    least = None
    if col.low_open:
        least = np.uint64(_bits(col.low) + np.uint64(1))  # the next float above the bound
    elif col.low != 0:
        least = _bits(col.low)
    finite = bool(np.isfinite(col.high))
    return least, _bits(col.high) if finite else _INF_BITS, finite


def column_ok(name: str | Column, values: np.ndarray) -> bool:
    """Whether every value of one float64 column (no nulls) keeps its rules (a schema column
    by name, or any :class:`Column`): see :func:`block_ok`, which checks a block's columns
    this way."""
    if len(values) == 0:
        return True
    col = _COLUMNS[name] if isinstance(name, str) else name
    if col.low >= 0:
        known = _BIT_BOUNDS.get(col.name)  # (the schema's own, without hashing the Column)
        least, top, inclusive = known[1] if known and known[0] is col else _bit_bounds(col)
        bits = values.view(np.uint64)
        high = np.maximum.reduce(bits)
        if not (high <= top if inclusive else high < top):
            return False
        return least is None or bool(np.minimum.reduce(bits) >= least)
    low, high = np.minimum.reduce(values), np.maximum.reduce(values)
    if not (low > col.low if col.low_open else low >= col.low):
        return False
    return bool(high <= col.high if np.isfinite(col.high) else high < np.inf)


def block_ok(
    columns: Mapping[str, np.ndarray], loss: np.ndarray | None = None, numeric: Numeric = NUMERIC
) -> bool:
    """Whether every row of one block keeps every numeric rule (and has a finite loss >= 0).

    The fast twin of the rules above for float64 columns without nulls, run by
    the vectorized kernel on each cache-sized block right after its loss. A
    column bounded below by 0 is checked on its bit patterns, one unsigned
    integer reduction per bound (NaN, infinities and negatives all lie above
    the top); -0.0 there is reported as failing, so that such a block takes the
    diagnostic path, which accepts it. Other columns compare their float minimum
    and maximum with the bounds: a reduction propagates NaN, which fails every
    comparison.
    """
    if len(next(iter(columns.values()))) == 0:
        return True
    if loss is not None and not np.maximum.reduce(loss.view(np.uint64)) < _INF_BITS:
        return False
    return all(column_ok(col, columns[col.name]) for col in numeric)


_COLUMNS = {col.name: col for col in NUMERIC}
_BIT_BOUNDS = {col.name: (col, _bit_bounds(col)) for col in NUMERIC if col.low >= 0}
