"""The summary of a run: what ``--json`` prints and what :func:`vecloss.run` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

__all__ = ["Summary"]


@dataclass
class Summary:
    """What a run did: the numbers ``--json`` prints.

    ``rows`` counts the buildings written and ``rejected`` those set aside:
    together, every row of the input. ``total_loss`` is the portfolio total
    (None for a grid); ``totals`` has one total per (years, discount rate)
    pair, ``output_rows`` the rows of the long output table, and ``groups``
    one row per (pair, group) when a ``by`` column is given. ``preview`` holds
    the first output rows when they were asked for.
    """

    input: str
    output: str | None
    rows: int
    rejected: int
    total_loss: float | None
    formula: str
    years: int | list[int]
    discount_rate: float | list[float]
    engine: str
    seconds: float
    rejects: str | None = None
    totals: list[dict[str, Any]] = field(default_factory=list)
    output_rows: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)
    preview: pl.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values (without the preview)."""
        data = asdict(self)
        data.pop("preview")
        return data
