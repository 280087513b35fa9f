"""The summary of a run: what :func:`vecloss.run` returns and what ``--json`` prints."""

from __future__ import annotations

import html
from dataclasses import dataclass, field, fields
from typing import Any

import polars as pl

from vecloss.display import counted, html_table

__all__ = ["Summary"]

_TOTALS_SCHEMA = {"years": pl.Int64, "discount_rate": pl.Float64, "total_loss": pl.Float64}


def _empty_totals() -> pl.DataFrame:
    return pl.DataFrame(schema=_TOTALS_SCHEMA)


@dataclass(repr=False)
class Summary:
    """What a run did, shown briefly (``repr``) or as tables in a notebook.

    ``rows`` counts the buildings computed and ``rejected`` those set aside:
    together, every row of the input. ``total_loss`` is the portfolio total of
    a single scenario (None for a grid: see ``totals`` and :attr:`matrix`).
    ``totals`` is a frame with one total per (years, discount rate) pair,
    ``groups`` one row per (pair, group) when a ``by`` column is given,
    ``output_rows`` the rows written. ``preview`` holds the first output rows
    when asked for; ``top`` the largest losses when asked for;
    ``rejected_rows`` the rows set aside in skip mode when no rejects file was
    given (their values, ``row`` and ``reason``).
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
    totals: pl.DataFrame = field(default_factory=_empty_totals)
    output_rows: int = 0
    groups: pl.DataFrame = field(default_factory=pl.DataFrame)
    preview: pl.DataFrame | None = None
    top: pl.DataFrame | None = None
    rejected_rows: pl.DataFrame | None = None

    @property
    def grid(self) -> bool:
        return isinstance(self.years, list) or isinstance(self.discount_rate, list)

    @property
    def matrix(self) -> pl.DataFrame:
        """The totals as a matrix: one row per years, one column per discount rate (as given)."""
        rates = [str(r) for r in self.totals["discount_rate"].unique(maintain_order=True)]
        return (
            self.totals.with_columns(pl.col("discount_rate").cast(pl.String))
            .pivot("discount_rate", index="years", values="total_loss", maintain_order=True)
            .select("years", *rates)
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values (frames as lists of rows; no preview)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("preview", "top", "rejected_rows"):
                continue
            data[f.name] = value.to_dicts() if isinstance(value, pl.DataFrame) else value
        return data

    def _headline(self) -> str:
        if self.total_loss is not None:
            total = f"total loss {self.total_loss:,.2f}"
        else:
            total = f"{self.totals.height} scenarios"
        rejected = f", {self.rejected:,} rejected" if self.rejected else ""
        return (
            f"{counted(self.rows, 'building')}{rejected} from {self.input}: {total} "
            f"({self.formula} formula, years {self.years}, discount rate {self.discount_rate}; "
            f"{self.seconds:.2f} s)"
        )

    def __repr__(self) -> str:
        lines = [f"Summary({self._headline()})"]
        if self.grid:
            with pl.Config(
                tbl_hide_dataframe_shape=True,
                tbl_hide_column_data_types=True,
                thousands_separator=True,
                float_precision=2,
            ):
                lines.append(str(self.matrix))
        return "\n".join(lines)

    def plot(self, *, ax: Any = None, **options: Any) -> Any:
        """The grid, groups or largest losses (:func:`vecloss.plots.plot_summary`): the Axes."""
        from vecloss.plots import plot_summary

        return plot_summary(self, ax=ax, **options)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>vecloss run</b>: {html.escape(self._headline())}</p>"]
        if self.grid:
            parts.append("<p>Total loss: years (rows) by discount rate (columns)</p>")
            parts.append(html_table(self.matrix, money=self.matrix.columns[1:]))
        if self.groups.height:
            total = [] if self.grid else ["buildings", "total_loss"]
            parts += ["<p>By group</p>", html_table(self.groups, total=total)]
        for title, frame in (("Largest losses", self.top), ("First rows", self.preview)):
            if frame is not None and frame.height:
                parts += [f"<p>{title}</p>", html_table(frame)]
        if self.rejected_rows is not None and self.rejected_rows.height:
            parts += ["<p>Rejected rows</p>", html_table(self.rejected_rows, rows=10)]
        return "".join(parts)
