"""What :func:`vecloss.risk` returns: AAL, EP and year-loss tables, shown well in a notebook."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.display import counted, html_table
from vecloss.exceptions import UsageError
from vecloss.risk.measures import empirical_curve

__all__ = ["EP_TYPES", "ORD_TABLES", "RiskResult"]

#: The ORD tables :meth:`RiskResult.ord_tables` gives (``psept`` only with damage
#: uncertainty, ``summary_map`` only with ``by``).
ORD_TABLES = ("ept", "alt", "psept", "summary_map")

#: The EP table's curves, named as OasisLMF's ORD output (EPType 1-4).
EP_TYPES: tuple[str, ...] = ("OEP", "OEP TVaR", "AEP", "AEP TVaR")


@dataclass
class RiskResult:
    """A risk pass: ``aal`` and ``ep`` frames, and the year-loss table ``ylt`` when simulated.

    ``rows`` buildings were tallied and ``rejected`` set aside (skip mode):
    together, every row of the input. ``rejected_rows`` holds the rejected
    rows of a frame with ``row`` and ``reason``.
    """

    input: str
    rows: int
    rejected: int
    formula: str
    years: int
    discount_rate: float
    periods: int | None
    seed: int | None
    exact: bool
    by: str | list[str] | None  # a column, or several
    shared_by: str | None
    return_periods: list[float]
    aal: pl.DataFrame = field(repr=False)
    ep: pl.DataFrame = field(repr=False)
    ylt: pl.DataFrame | None = field(default=None, repr=False)
    rejected_rows: pl.DataFrame | None = field(default=None, repr=False)
    damage_cv: float | str | None = None  # damage uncertainty: a CV, or its column
    samples: int = 1  # damage draws per hit
    damage_cap: float | str | None = None  # the largest loss of one draw, or its column
    #: With damage uncertainty: OasisLMF's four EP calculations (``[by], ep_calc, ep_type,
    #: return_period, loss``; ``ep_calc`` 1 mean damage, 2 full uncertainty, 3 per-sample
    #: mean, 4 sample mean), each sample's curves (``psept``: ``[by], sample, ep_type, ...``)
    #: and the mean damage's AAL (``[by], mean_loss, sd_loss``).
    ep_calcs: pl.DataFrame | None = field(default=None, repr=False)
    psept: pl.DataFrame | None = field(default=None, repr=False)
    mean_damage_aal: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def ep_calc(self) -> int:
        """OasisLMF's ``EPCalc`` of :attr:`ep`: 1, mean damage (every hit costs the
        formula's loss), or 2, full uncertainty (each hit's damage drawn)."""
        return 1 if self.damage_cv is None else 2

    @property
    def group_columns(self) -> list[str]:
        """The columns that name a group: none, one or several."""
        if self.by is None:
            return []
        return [self.by] if isinstance(self.by, str) else list(self.by)

    @property
    def method(self) -> str:
        """How the answer was found, in words."""
        if self.exact:
            return "exact"
        damage = ""
        if self.damage_cv is not None:
            damage = f", damage CV {self.damage_cv}, {self.samples} sample(s) per hit"
            damage += "" if self.damage_cap is None else f", capped at {self.damage_cap}"
        return f"{self.periods:,} simulated periods, seed {self.seed}{damage}"

    def curves(self) -> pl.DataFrame:
        """The EP table wide: one row per (group,) return period, one column per curve."""
        index = [*self.group_columns, "return_period"]
        return self.ep.pivot("ep_type", index=index, values="loss", maintain_order=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: the fields, the AAL and EP rows."""
        return {
            "input": self.input,
            "rows": self.rows,
            "rejected": self.rejected,
            "formula": self.formula,
            "years": self.years,
            "discount_rate": self.discount_rate,
            "periods": self.periods,
            "seed": self.seed,
            "exact": self.exact,
            "by": self.by,
            "shared_by": self.shared_by,
            "return_periods": self.return_periods,
            "aal": self.aal.to_dicts(),
            "ep": self.ep.to_dicts(),
        }

    def _title(self) -> str:
        return (
            f"{counted(self.rows, 'building')} from {self.input}, {self.formula} formula, "
            f"{self.years} years, discount rate {self.discount_rate}; {self.method}"
        )

    def __repr__(self) -> str:
        head = f"RiskResult({self._title()})"
        with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=20):
            return f"{head}\naal:\n{self.aal}\nep (wide):\n{self.curves()}"

    #: Return periods, losses and a 95 % band per rank of one curve's period losses
    #: (:func:`vecloss.risk.measures.empirical_curve`): what :meth:`plot` draws.
    empirical_curve = staticmethod(empirical_curve)

    def plot(self, *, ax: Any = None, **options: Any) -> Any:
        """The EP curves (see :func:`vecloss.plots.plot_risk`); returns the matplotlib Axes."""
        from vecloss.plots import plot_risk

        return plot_risk(self, ax=ax, **options)

    def ord_tables(self) -> dict[str, pl.DataFrame]:
        """The result as OasisLMF's ORD tables (the names, codes and orders its ``aalpy`` and
        ``lecpy`` write), one group a ``SummaryId`` (1, 2, ... in the order of ``aal``):

        - ``ept``: ``SummaryId, EPCalc, EPType, ReturnPeriod, Loss``; ``EPCalc`` 1 (mean
          damage: each hit costs the formula's loss) and, with ``damage_cv``, 2 (full
          uncertainty), 3 (per-sample mean) and 4 (sample mean); ``EPType`` 1 OEP, 2 OEP
          TVaR, 3 AEP, 4 AEP TVaR; return periods descending;
        - ``alt``: ``SummaryId, SampleType, MeanLoss, SDLoss``; ``SampleType`` 1 (analytical:
          mean damage) and, with ``damage_cv``, 2 (sampled damage);
        - ``psept`` (with ``damage_cv``): ``SummaryId, SampleId, EPType, ReturnPeriod, Loss``,
          each sample's curves;
        - ``summary_map``: ``SummaryId`` and the group's columns (only with ``by``).
        """
        groups = self.group_columns
        ids = self.aal.select(groups).with_row_index("SummaryId", offset=1) if groups else None
        codes = {name: code for code, name in enumerate(EP_TYPES, start=1)}

        def coded(frame: pl.DataFrame, **columns: Any) -> pl.DataFrame:
            if ids is not None:
                frame = frame.join(ids, on=groups, how="left", nulls_equal=True)
            return frame.with_columns(
                SummaryId=pl.lit(1, pl.UInt32) if ids is None else pl.col("SummaryId"),
                EPType=pl.col("ep_type").replace_strict(codes, return_dtype=pl.Int64),
                **columns,
            )

        def curves(frame: pl.DataFrame, key: str) -> pl.DataFrame:
            order = ["SummaryId", key, "EPType", "ReturnPeriod"]
            return frame.select(
                "SummaryId", key, "EPType", ReturnPeriod="return_period", Loss="loss"
            ).sort(order, descending=[False] * 3 + [True])

        if self.ep_calcs is None:
            ept = curves(coded(self.ep, EPCalc=pl.lit(self.ep_calc, pl.Int64)), "EPCalc")
        else:
            ept = curves(coded(self.ep_calcs, EPCalc=pl.col("ep_calc").cast(pl.Int64)), "EPCalc")
        alts = [(1, self.aal)]
        if self.mean_damage_aal is not None:  # damage drawn: the mean damage's, then the draws'
            alts = [(1, self.mean_damage_aal), (2, self.aal)]
        alt = pl.concat(
            [
                frame.with_row_index("SummaryId", offset=1).select(
                    "SummaryId",
                    SampleType=pl.lit(kind, pl.Int64),
                    MeanLoss="mean_loss",
                    SDLoss="sd_loss",
                )
                for kind, frame in alts
            ]
        ).sort("SummaryId", "SampleType")
        tables = {"ept": ept, "alt": alt}
        if self.psept is not None:
            psept = coded(self.psept, SampleId=pl.col("sample").cast(pl.Int64))
            tables["psept"] = curves(psept, "SampleId")
        if ids is not None:
            tables["summary_map"] = ids
        return tables

    def to_ord(self, folder: str | Path, *, format: str = "csv") -> list[Path]:
        """Write :meth:`ord_tables` into ``folder`` as ``ept.csv``, ``alt.csv`` (and
        ``summary_map.csv``), or Parquet; the files appear together or not at all."""
        from vecloss.io.sink import Output, together

        if format not in ("csv", "parquet"):
            msg = f"format must be 'csv' or 'parquet', got {format!r}"
            raise UsageError(msg)
        tables = self.ord_tables()
        outputs = {name: Output(Path(folder) / f"{name}.{format}") for name in tables}
        with together(outputs):
            for name, table in tables.items():
                outputs[name].write(table)
        return [output.target for output in outputs.values()]

    def _repr_html_(self) -> str:
        return (
            f"<p><b>vecloss risk</b>: {html.escape(self._title())}</p>"
            f"<p>Average annual loss</p>{html_table(self.aal)}"
            "<p>Exceedance curves (loss at each return period)</p>"
            f"{html_table(self.curves(), money=(), rows=50)}"
        )
