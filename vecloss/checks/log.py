"""The failures log: counts and first examples per (column, reason), across batches and parts.

Like pandera's lazy validation, it gathers every problem before reporting, and
builds the one :class:`~vecloss.ValidationError` that lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from vecloss.checks.rules import FAILURES, ROW, Numeric, describe
from vecloss.display import counted
from vecloss.exceptions import ValidationError
from vecloss.schema import ID, NUMERIC, Reason

__all__ = ["EXAMPLES", "FailureLog"]

EXAMPLES = 5
Key = tuple[str, Reason]


#: The prefix of a reject's values, carried beside its failures to show in its example.
_VALUE = "__value_"
#: The reasons whose examples show the value that broke the rule: ``buildingId 7 (-5.0)``.
_SHOWN = (Reason.NOT_NUMERIC.code, Reason.NOT_FINITE.code, Reason.OUT_OF_RANGE.code)


def _with_value(columns: list[str]) -> pl.Expr:
    """The example (``buildingId 7``), with the failing column's value when the reason is
    about the value (``buildingId 7 (-5.0)``, ``buildingId 8 (1,200.5)``), as pandera's
    failure cases show it: the value tells at once what is wrong with it (a thousands
    separator, a percentage, a sign)."""
    if not columns:
        return pl.col("example")
    raw = pl.coalesce(pl.when(pl.col("column") == c).then(pl.col(_VALUE + c)) for c in columns)
    # a number as a float prints it: "-4" read as text (its column held a word elsewhere) and
    # -4 read as a number (a batch without the word) read alike at every batch size
    number = raw.cast(pl.Float64, strict=False).cast(pl.String)
    value = (
        pl.when(pl.col("code") == Reason.NOT_NUMERIC.code)
        .then(raw)
        .otherwise(pl.coalesce(number, raw))
    )
    shown = pl.col("code").is_in(_SHOWN) & value.is_not_null()
    return (
        pl.when(shown)
        .then(pl.format("{} ({})", pl.col("example"), value))
        .otherwise(pl.col("example"))
    )


@dataclass
class FailureLog:
    """Counts and first examples of every (column, reason) seen across batches."""

    counts: dict[Key, int] = field(default_factory=dict)
    examples: dict[Key, list[str]] = field(default_factory=dict)
    rows: int = 0
    numeric: Numeric = NUMERIC  # the numeric columns' rules, for the words of the report

    def add(self, rejected: pl.DataFrame) -> None:
        """Record a frame of rejects (with ``__row`` and ``__failures``)."""
        if rejected.height == 0:
            return
        self.rows += rejected.height
        example = (
            pl.when(pl.col(ID).is_null())
            .then(pl.format("row {}", pl.col(ROW)))
            .otherwise(pl.format(f"{ID} {{}}", pl.col(ID).cast(pl.String)))
        )
        columns = [c.name for c in self.numeric if c.name in rejected.columns]
        values = [  # (one line each: a quoted CSV value may hold a newline)
            pl.col(c)
            .cast(pl.String)
            .str.replace_all(r"\s+", " ")
            .str.slice(0, 30)
            .alias(_VALUE + c)
            for c in columns
        ]
        flat = (
            rejected.rechunk()  # (Polars 2.1 panics formatting strings cut in unlike chunks)
            .select(example.alias("example"), pl.col(FAILURES), *values)
            .explode(FAILURES)
            .unnest(FAILURES)
            .with_columns(_with_value(columns).alias("example"))
            .group_by("column", "code", maintain_order=True)
            .agg(pl.len().alias("count"), pl.col("example").head(EXAMPLES))
        )
        for column, code, count, examples in flat.iter_rows():
            key = (column, Reason.of(code))
            self.counts[key] = self.counts.get(key, 0) + count
            seen = self.examples.setdefault(key, [])
            seen.extend(examples[: EXAMPLES - len(seen)])

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
        """One row per (reason, column): count, the first examples (a list), hint (the
        order of ``ValidationError.failures`` and ``Report.failures`` alike)."""
        return pl.DataFrame(
            {
                "reason": [k[1].code for k in self.counts],
                "column": [k[0] for k in self.counts],
                "count": list(self.counts.values()),
                "examples": [list(self.examples[k]) for k in self.counts],
                "hint": [k[1].hint for k in self.counts],
            },
            schema={
                "reason": pl.String,
                "column": pl.String,
                "count": pl.Int64,
                "examples": pl.List(pl.String),
                "hint": pl.String,
            },
        )

    def lines(self) -> list[str]:
        """One line per (column, reason): the rule, the count, the first examples, a hint."""
        out = []
        for (column, reason), count in self.counts.items():
            more = "" if count <= EXAMPLES else f" (+{count - EXAMPLES} more)"
            out.append(
                f"  {describe(column, reason, self.numeric)}, {counted(count, 'row')}: "
                f"{', '.join(self.examples[(column, reason)])}{more}; hint: {reason.hint}"
            )
        return out

    def error(self, source: str) -> ValidationError:
        """The error that reports every problem in the log."""
        verb = "breaks" if self.rows == 1 else "break"
        head = f"{source}: {counted(self.rows, 'row')} {verb} the schema"
        tail = (
            "hint: fix these rows, or set them aside: on_invalid='skip' in Python "
            "(vecloss.validate(data) returns them as a frame), --on-invalid skip --rejects PATH "
            "on the command line"
        )
        return ValidationError("\n".join([head, *self.lines(), tail]), self.frame())
