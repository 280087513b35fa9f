"""The portfolio schema, declared once as data.

The validator (:mod:`vecloss.validate`), the error messages, ``vecloss validate``
and the README table all read :data:`COLUMNS` and :data:`REASONS`.
"""

from __future__ import annotations

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
    kind: Literal["id", "float"]
    rule: str
    low: float = -math.inf
    low_open: bool = False
    high: float = math.inf


COLUMNS: tuple[Column, ...] = (
    Column(ID, "id", "present, non-null, unique; type kept as given"),
    Column("floor_area", "float", "finite, > 0", low=0.0, low_open=True),
    Column("construction_cost", "float", "finite, >= 0", low=0.0),
    Column("hazard_probability", "float", "finite, 0 <= p <= 1", low=0.0, high=1.0),
    Column("inflation_rate", "float", "finite, > -1", low=-1.0, low_open=True),
)
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS)
NUMERIC: tuple[Column, ...] = tuple(c for c in COLUMNS if c.kind == "float")

#: Stable reason codes: what each means and what to do about it.
REASONS: dict[str, tuple[str, str]] = {
    "missing_column": ("a required column is absent", "rename or add the column"),
    "wrong_type": (
        "the column has a type that cannot hold the values",
        "buildingId must be integer or string; the others numbers",
    ),
    "null": ("the value is missing (null)", "fill it in or drop the row"),
    "not_numeric": ("the value is not a number", "write it as a plain number, e.g. 1200.5"),
    "not_finite": ("the value is NaN or infinite", "replace it with a finite number"),
    "out_of_range": ("the value is outside the allowed range", "check the units and sign"),
    "duplicate_id": (
        "an earlier row has the same buildingId (the first one is kept)",
        "give each building its own id",
    ),
    "loss_overflow": (
        "the loss overflows a float64 (inf or NaN)",
        "check floor_area and inflation_rate, or the years and discount rate",
    ),
}


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
