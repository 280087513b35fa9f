"""The portfolio schema, declared once as data.

The checks (:mod:`vecloss.checks`), the error messages, ``vecloss validate``
and the README table all read :data:`COLUMNS` and :data:`REASONS`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COLUMNS",
    "ID",
    "NUMERIC",
    "REASONS",
    "REQUIRED",
    "Column",
    "Reason",
    "reasons_table",
    "schema_table",
]

ID = "buildingId"


@dataclass(frozen=True)
class Column:
    """One column of the portfolio: its type and the range its values must hold.

    ``low``/``high`` bound the value; ``low_open`` makes the lower bound strict
    (``> low`` rather than ``>= low``). Every numeric value must also be finite.
    """

    name: str
    kind: Literal["id", "float"] = "float"
    rule: str = ""  # in words; left empty, it is written from the bounds
    low: float = -math.inf
    low_open: bool = False
    high: float = math.inf

    def __post_init__(self) -> None:
        if not self.rule and self.kind == "float":
            object.__setattr__(self, "rule", _rule_words(self))


def _rule_words(col: Column) -> str:
    """``finite, > 0``, ``finite, 0 <= x <= 20``...: a numeric column's rule in words."""
    low, high = math.isfinite(col.low), math.isfinite(col.high)
    sign = "<" if col.low_open else "<="
    if low and high:
        return f"finite, {col.low:g} {sign} x <= {col.high:g}"
    if low:
        return f"finite, {'>' if col.low_open else '>='} {col.low:g}"
    if high:
        return f"finite, <= {col.high:g}"
    return "finite"


COLUMNS: tuple[Column, ...] = (
    Column(
        ID,
        "id",
        "present, non-null, unique; type kept as given (a CSV id is a number only when "
        "written as one: `007` stays text)",
    ),
    Column("floor_area", "float", "finite, > 0", low=0.0, low_open=True),
    Column("construction_cost", "float", "finite, >= 0", low=0.0),
    Column("hazard_probability", "float", "finite, 0 <= p <= 1", low=0.0, high=1.0),
    Column("inflation_rate", "float", "finite, > -1", low=-1.0, low_open=True),
)
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS)
NUMERIC: tuple[Column, ...] = tuple(c for c in COLUMNS if c.kind == "float")


class Reason(enum.Enum):
    """Stable reason codes: what each means and what to do about it.

    A failure carries its :class:`Reason` as a field (``reason.code`` in frames
    and files); messages are built from these three fields, never parsed back.
    """

    MISSING_COLUMN = ("missing_column", "a required column is absent", "rename or add the column")
    WRONG_TYPE = (
        "wrong_type",
        "the column has a type that cannot hold the values",
        "buildingId must be integer or string; the others numbers",
    )
    NULL = ("null", "the value is missing (null)", "fill it in or drop the row")
    NOT_NUMERIC = (
        "not_numeric",
        "the value is not a number",
        "write it as a plain number, e.g. 1200.5",
    )
    NOT_FINITE = ("not_finite", "the value is NaN or infinite", "replace it with a finite number")
    OUT_OF_RANGE = (
        "out_of_range",
        "the value is outside the allowed range",
        "check the units and sign",
    )
    DUPLICATE_ID = (
        "duplicate_id",
        "an earlier row has the same buildingId (the first one is kept)",
        "give each building its own id",
    )
    LOSS_OVERFLOW = (
        "loss_overflow",
        "the loss overflows a float64 (inf or NaN)",
        "check floor_area and inflation_rate, or the years and discount rate",
    )

    def __init__(self, code: str, meaning: str, hint: str) -> None:
        self.code = code
        self.meaning = meaning
        self.hint = hint

    @classmethod
    def of(cls, code: str) -> Reason:
        """The reason with this code."""
        return _BY_CODE[code]


_BY_CODE: dict[str, Reason] = {r.code: r for r in Reason}

#: The reason codes as plain data: code -> (meaning, hint).
REASONS: dict[str, tuple[str, str]] = {r.code: (r.meaning, r.hint) for r in Reason}


def reasons_table() -> str:
    """The reason codes as a Markdown table (the README shows this)."""
    lines = ["| reason | meaning | hint |", "| --- | --- | --- |"]
    lines += [f"| `{code}` | {what} | {hint} |" for code, (what, hint) in REASONS.items()]
    return "\n".join(lines)


def schema_table() -> str:
    """The schema as a Markdown table (the README shows this)."""
    lines = ["| column | type | rule |", "| --- | --- | --- |"]
    for col in COLUMNS:
        kind = "integer or string" if col.kind == "id" else "float (ints accepted)"
        lines.append(f"| {col.name} | {kind} | {col.rule} |")
    return "\n".join(lines)
