"""Pictures from the result objects: ``RiskResult.plot()``, ``Summary.plot()``,
``Report.plot()``. matplotlib is an extra (``notebooks`` or ``bench``), imported here only,
when a plot is asked for; each function draws on ``ax`` (or a new figure) and returns it."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from vecloss.exceptions import UsageError, require

__all__ = ["plot_report", "plot_risk", "plot_summary"]

# (RiskResult, Summary and Report are typed Any here: they import this module to plot, and
# importing them back, even for typing, would make a cycle)


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    require("matplotlib", "plot()", "notebooks")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")  # (labels never cut)
    return ax


def _unit(largest: float) -> tuple[float, str]:
    """A divisor and its word for money up to ``largest``: tick labels stay short."""
    for divisor, word in ((1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if largest >= 10 * divisor:
            return divisor, word
    return 1.0, ""


def _money(ax: Any, axis: str = "y", label: str = "loss") -> None:
    """Money ticks on ``axis``, in the unit its range calls for, said in the axis label."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    divisor, word = _unit(max(abs(low), abs(high)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v / divisor:,.0f}"))
    target.set_label_text(f"{label} ({word})" if word else label)


def plot_risk(result: Any, *, ax: Any = None, curves: tuple[str, ...] = ("OEP", "AEP")) -> Any:
    """The EP curves on a log return-period axis. Simulated: the whole empirical curve from
    the year-loss table with a 95 % band (order statistics), the chosen return periods
    marked; exact: the curves at the return periods. One line per group with ``by``."""
    ax = _axes(ax)
    by = result.group_columns
    groups: list[Any] = list(result.aal.select(by).iter_rows()) if by else [None]
    for group in groups:
        label = "" if group is None else " / ".join(str(v) for v in group) + ": "
        match = (
            pl.lit(True)
            if group is None
            else pl.all_horizontal(pl.col(c) == v for c, v in zip(by, group, strict=True))
        )
        ep = result.ep.filter(match)
        for curve in curves:
            points = ep.filter(pl.col("ep_type") == curve).sort("return_period")
            ylt = result.ylt
            if ylt is not None and ylt.height:
                rows = ylt.filter(match)
                column = "loss" if curve == "AEP" else "max_event_loss"
                rp, loss, low, high = result.empirical_curve(rows[column].to_numpy())
                keep = rp >= 1
                (line,) = ax.plot(rp[keep], loss[keep], label=f"{label}{curve}")
                ax.fill_between(rp[keep], low[keep], high[keep], alpha=0.2, color=line.get_color())
                ax.plot(points["return_period"], points["loss"], "o", color=line.get_color(), ms=4)
            else:
                ax.plot(points["return_period"], points["loss"], "o-", label=f"{label}{curve}")
    ax.set_xscale("log")
    ax.set_xlabel("return period (years)")
    ax.set_ylim(bottom=0)
    _money(ax)
    band = "" if result.exact else " (shaded: 95 % interval of the simulated curve)"
    ax.set_title(f"exceedance curves, {result.method}{band}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_summary(summary: Any, *, ax: Any = None) -> Any:
    """A grid's total loss as a years x discount-rate heat map, annotated; or, with ``by``,
    the total loss per group (bars, largest first); or the largest losses (``top``)."""
    if summary.grid:
        ax = _axes(ax)
        matrix = summary.matrix
        values = matrix.drop(matrix.columns[0]).to_numpy()
        image = ax.imshow(values, cmap="viridis", aspect="auto", vmin=0)
        ax.set_xticks(range(values.shape[1]), matrix.columns[1:])
        ax.set_yticks(range(values.shape[0]), [str(v) for v in matrix[matrix.columns[0]]])
        ax.set_xlabel("discount rate")
        ax.set_ylabel("years")
        middle = float(np.nanmax(values)) / 2
        divisor, word = _unit(float(np.nanmax(values)))
        for (i, j), value in np.ndenumerate(values):
            shade = "black" if value > middle else "white"  # dark on the light cells
            text = f"{value / divisor:,.0f}"
            ax.text(j, i, text, ha="center", va="center", color=shade, fontsize=9)
        bar = ax.figure.colorbar(image, ax=ax)
        _money(bar.ax, "y", "total loss")
        why = (
            "\nthe horizon enters only through the discount: the loss falls as the years grow"
            if summary.formula == "complex"
            else ""
        )
        unit = f" ({word})" if word else ""
        ax.set_title(f"total loss{unit}, {summary.formula} formula{why}", fontsize=9)
        return ax
    if summary.groups.height:
        ax = _axes(ax)
        by = [c for c in summary.groups.columns if c not in _GROUP_FIGURES]
        table = summary.groups.sort("total_loss")
        labels = [" / ".join(str(v) for v in row) for row in table.select(by).iter_rows()]
        ax.barh(labels, table["total_loss"].to_numpy())
        ax.set_xlim(left=0)
        _money(ax, "x", "total loss")
        ax.set_title(f"total loss by {', '.join(by)}", fontsize=9)
        return ax
    if summary.top is not None and summary.top.height:
        ax = _axes(ax)
        top = summary.top.sort("loss")
        ax.barh([str(v) for v in top["buildingId"]], top["loss"].to_numpy())
        ax.set_xlim(left=0)
        _money(ax, "x")
        ax.set_title(f"the {top.height} largest losses", fontsize=9)
        return ax
    msg = "nothing to plot: a single total; hint: run with by=..., top=N or a grid of years"
    raise UsageError(msg)


_GROUP_FIGURES = ("years", "discount_rate", "buildings", "total_loss", "mean_loss")


def plot_report(report: Any, *, ax: Any = None) -> Any:
    """The rows that break each rule (bars, most first)."""
    ax = _axes(ax)
    failures = report.failures.sort("count")
    labels = [f"{c}: {r}" for c, r in failures.select("column", "reason").iter_rows()]
    ax.barh(labels, failures["count"].to_numpy())
    ax.set_xlabel("rows")
    ax.set_xlim(left=0)
    ax.set_title(report.breaking, fontsize=9)
    return ax
