"""Run the schema of :mod:`vecloss.schema` over a frame, as column expressions.

Validation never stops at the first problem: every rule is evaluated over the
whole batch, each failing row gets a ``reason`` naming every rule it breaks,
and :class:`FailureLog` gathers counts and the first building ids per
(column, reason) across batches, the way pandera's lazy validation does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from vecloss.exceptions import InputError, ValidationError
from vecloss.schema import ID, NUMERIC, REASONS, REQUIRED, Column

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "Checked",
    "FailureLog",
    "SeenIds",
    "block_ok",
    "check_columns",
    "later_duplicates",
    "reject_rows",
    "split_valid",
]

ROW = "__row"
EXAMPLES = 5


def check_columns(
    schema: Mapping[str, pl.DataType], source: str, *, all_columns: Sequence[str] | None = None
) -> None:
    """Raise :class:`InputError` if a required column is absent or of an unusable type.

    ``all_columns`` lists every column of the source when ``schema`` holds only
    those that were read; the message suggests near names from it.
    """
    missing = [name for name in REQUIRED if name not in schema]
    if missing:
        present = list(all_columns if all_columns is not None else schema)
        parts = []
        for name in missing:
            near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
            parts.append(f"{name} (did you mean {near[0]!r}?)" if near else name)
        msg = (
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(parts)}; "
            f"found {', '.join(present) or 'no columns'}; "
            f"hint: {REASONS['missing_column'][1]}"
        )
        raise InputError(msg)
    id_type = schema[ID]
    if not (id_type.is_integer() or id_type == pl.String or id_type == pl.Null):
        msg = (
            f"{source}: column {ID} has type {id_type}; "
            "hint: building ids must be integers or strings"
        )
        raise InputError(msg)
    for col in NUMERIC:
        dtype = schema[col.name]
        if not (dtype.is_numeric() or dtype == pl.String or dtype == pl.Null):
            msg = f"{source}: column {col.name} has type {dtype}; hint: it must hold numbers"
            raise InputError(msg)


def _as_float(name: str, dtype: pl.DataType) -> pl.Expr:
    raw = pl.col(name)
    if dtype == pl.String:
        return raw.str.strip_chars().cast(pl.Float64, strict=False)
    return raw.cast(pl.Float64)


def _range_failure(col: Column, value: pl.Expr) -> pl.Expr:
    below = value <= col.low if col.low_open else value < col.low
    return (below | (value > col.high)).fill_null(value=False)


def _rules(schema: Mapping[str, pl.DataType]) -> list[tuple[str, str, pl.Expr]]:
    """(column, reason code, expression true on failing rows) for every rule."""
    ident = pl.col(ID)
    rules = [
        (ID, "null", ident.is_null()),
        # the first row with an id is kept, every later one rejected, within
        # a batch and across batches alike (see SeenIds)
        (ID, "duplicate_id", ident.is_first_distinct().not_() & ident.is_not_null()),
    ]
    for col in NUMERIC:
        raw = pl.col(col.name)
        value = _as_float(col.name, schema[col.name])
        rules.append((col.name, "null", raw.is_null()))
        if schema[col.name] == pl.String:
            rules.append((col.name, "not_numeric", raw.is_not_null() & value.is_null()))
        finite = value.is_finite()
        rules.append((col.name, "not_finite", finite.not_().fill_null(value=False)))
        rules.append((col.name, "out_of_range", _range_failure(col, value) & finite))
    return rules


def _describe(column: str, code: str) -> str:
    if code == "out_of_range":
        rule = next(c.rule for c in NUMERIC if c.name == column)
        return f"{column}: {code} (must be {rule.removeprefix('finite, ')})"
    return f"{column}: {code}"


@dataclass
class Checked:
    """One validated batch: the rows that pass and the rows that do not.

    ``valid`` has the numeric columns as Float64; ``rejected`` keeps the
    original values and adds ``reason``, every rule the row breaks.
    """

    valid: pl.DataFrame
    rejected: pl.DataFrame


def split_valid(frame: pl.DataFrame, *, row_offset: int = 1) -> Checked:
    """Validate ``frame`` (its columns already checked) and split it.

    Both parts carry the row number ``__row`` (1-based, from ``row_offset``
    unless the frame has it already), so a reject names its row.
    """
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=row_offset)
    rules = _rules(frame.schema)
    casts = [_as_float(c.name, frame.schema[c.name]) for c in NUMERIC]
    flags = frame.select([expr.alias(f"{column}|{code}") for column, code, expr in rules])
    bad = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not bad.any():
        return Checked(frame.with_columns(casts), frame.clear().with_columns(reason=pl.lit("")))
    reason = pl.concat_str(
        [pl.when(pl.col(f"{c}|{k}")).then(pl.lit(_describe(c, k))) for c, k, _ in rules],
        separator="; ",
        ignore_nulls=True,
    )
    rejected = pl.concat(
        [frame.filter(bad), flags.filter(bad).select(reason=reason)], how="horizontal"
    )
    valid = frame.filter(~bad).with_columns(casts)
    return Checked(valid, rejected)


def reject_rows(frame: pl.DataFrame, mask: pl.Series, column: str, code: str) -> pl.DataFrame:
    """The rows of ``frame`` (with ``__row``) where ``mask`` holds, as rejects with one reason."""
    return frame.filter(mask).with_columns(reason=pl.lit(_describe(column, code)))


@dataclass
class FailureLog:
    """Counts and first examples of every (column, reason) seen across batches."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    rows: int = 0

    def add(self, rejected: pl.DataFrame) -> None:
        """Record a frame of rejects (as made by :func:`split_valid`)."""
        if rejected.height == 0:
            return
        self.rows += rejected.height
        for item in rejected["reason"].str.split("; ").explode().unique(maintain_order=True):
            column, _, rest = item.partition(": ")
            key = (column, rest.split(" ", 1)[0])
            hits = rejected.filter(pl.col("reason").str.contains(item, literal=True))
            self.counts[key] = self.counts.get(key, 0) + hits.height
            seen = self.examples.setdefault(key, [])
            if len(seen) < EXAMPLES:
                seen.extend(
                    _example(r) for r in hits.head(EXAMPLES - len(seen)).iter_rows(named=True)
                )

    def __bool__(self) -> bool:
        return bool(self.counts)

    def merge(self, other: FailureLog) -> None:
        """Add another log's problems (from a later part of the same source)."""
        self.rows += other.rows
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
            seen = self.examples.setdefault(key, [])
            seen.extend(other.examples[key][: EXAMPLES - len(seen)])

    def frame(self) -> pl.DataFrame:
        """One row per (column, reason): count, first examples, hint."""
        return pl.DataFrame(
            {
                "column": [k[0] for k in self.counts],
                "reason": [k[1] for k in self.counts],
                "count": list(self.counts.values()),
                "examples": [", ".join(self.examples[k]) for k in self.counts],
                "hint": [REASONS[k[1]][1] for k in self.counts],
            },
            schema={
                "column": pl.String,
                "reason": pl.String,
                "count": pl.Int64,
                "examples": pl.String,
                "hint": pl.String,
            },
        )

    def lines(self) -> list[str]:
        """One line per (column, reason): the rule, the count, the first examples, a hint."""
        out = []
        for (column, code), count in self.counts.items():
            more = "" if count <= EXAMPLES else f" (+{count - EXAMPLES} more)"
            out.append(
                f"  {_describe(column, code)}, {_rows(count)}: "
                f"{', '.join(self.examples[(column, code)])}{more}; hint: {REASONS[code][1]}"
            )
        return out

    def error(self, source: str) -> ValidationError:
        """The error that reports every problem in the log."""
        head = f"{source}: {_rows(self.rows)} {'breaks' if self.rows == 1 else 'break'} the schema"
        tail = (
            "hint: fix these rows, or run with --on-invalid skip --rejects PATH to set them aside"
        )
        return ValidationError("\n".join([head, *self.lines(), tail]), self.frame())


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def _example(row: dict[str, object]) -> str:
    ident = row.get(ID)
    return f"row {row[ROW]}" if ident is None else f"{ID} {ident}"


class SeenIds:
    """The building ids of earlier batches, to find repeats across batches.

    Integer ids are kept as int64, string ids as their 64-bit hashes (a false
    repeat then needs a hash collision: about n**2 / 2**65, 3e-6 at 10M ids).
    Ids that arrive in increasing order (the common case) cost one comparison
    with the largest id so far, and a contiguous batch is kept as one range.
    Others live in sorted runs whose sizes at least double down the list, so
    each id is merged O(log n) times and looked up by binary search.
    """

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []  # disjoint, increasing
        self._runs: list[np.ndarray] = []
        self._max: int | None = None

    @staticmethod
    def _keys(ids: pl.Series) -> np.ndarray:
        if ids.dtype == pl.String:
            return ids.hash(seed=0x5EED).to_numpy().view(np.int64)
        return ids.cast(pl.Int64).to_numpy()

    def add(self, ids: pl.Series) -> pl.Series:
        """Record ``ids`` (non-null, unique within the batch); return which were seen before."""
        keys = self._keys(ids)
        if len(keys) == 0:
            return pl.Series(np.zeros(0, dtype=bool))
        increasing = bool(np.all(keys[1:] > keys[:-1]))
        if increasing and (self._max is None or keys[0] > self._max):
            seen = np.zeros(len(keys), dtype=bool)
        else:
            seen = self._lookup(keys)
        self._store(keys if increasing else np.sort(keys), contiguous=increasing)
        return pl.Series(seen)

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        seen = np.zeros(len(keys), dtype=bool)
        if self._ranges:
            lows, highs = (
                np.array(side, dtype=np.int64) for side in zip(*self._ranges, strict=True)
            )
            index = np.searchsorted(lows, keys, side="right") - 1
            inside = index >= 0
            seen[inside] = keys[inside] <= highs[index[inside]]
        for run in self._runs:
            pos = np.searchsorted(run, keys).clip(max=len(run) - 1)
            seen |= run[pos] == keys
        return seen

    def _store(self, ordered: np.ndarray, *, contiguous: bool) -> None:
        low, high = int(ordered[0]), int(ordered[-1])
        self._max = high if self._max is None else max(self._max, high)
        if (
            contiguous
            and high - low == len(ordered) - 1
            and (not self._ranges or low > self._ranges[-1][1])
        ):
            if self._ranges and low == self._ranges[-1][1] + 1:
                self._ranges[-1] = (self._ranges[-1][0], high)
            else:
                self._ranges.append((low, high))
            return
        new = ordered
        while self._runs and len(self._runs[-1]) <= 2 * len(new):
            new = np.concatenate([self._runs.pop(), new])
            new.sort(kind="stable")
        self._runs.append(new)


def block_ok(columns: Mapping[str, np.ndarray], loss: np.ndarray | None = None) -> bool:
    """Whether every row of one block keeps every numeric rule (and has a finite loss).

    The fast twin of the rules above for float64 columns without nulls, run by
    the vectorized engine on each cache-sized block right after its loss. It
    compares each column's minimum and maximum with the bounds: a reduction
    propagates NaN, and NaN fails every comparison, so NaN and +-inf fail too.
    """
    if len(next(iter(columns.values()))) == 0:
        return True
    if loss is not None and not np.max(loss) < np.inf:
        return False
    for col in NUMERIC:
        value = columns[col.name]
        low, high = np.min(value), np.max(value)
        if not (low > col.low if col.low_open else low >= col.low):
            return False
        if not (high <= col.high if np.isfinite(col.high) else high < np.inf):
            return False
    return True


def later_duplicates(ids: pl.Series) -> pl.Series | None:
    """Mark every row whose id an earlier row of ``ids`` has; None if there is none.

    Sorted ids (the common case: generated or exported in id order) need one
    comparison of neighbours; others a hash of every id.
    """
    if ids.len() < 2:
        return None
    if ids.dtype.is_integer() and not ids.null_count():
        values = ids.to_numpy()
        if np.all(values[1:] > values[:-1]):
            return None
    elif ids.is_sorted():
        repeats = ids.slice(1) == ids.slice(0, ids.len() - 1)
        if not repeats.any():
            return None
    mask = ~ids.is_first_distinct() & ids.is_not_null()
    return mask if mask.any() else None
