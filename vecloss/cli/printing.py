"""What the command line prints: tables of losses, summaries and risk results."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import polars as pl

from vecloss.display import counted
from vecloss.run.summary import Summary

if TYPE_CHECKING:
    from vecloss.risk import RiskResult


_MONEY = {"loss", "total_loss", "mean_loss"}


def _money(value: float) -> str:
    """A loss as people read it: thousands separators, two decimals."""
    return f"{value:,.2f}"


def _print_table(summary: Summary, *, out: TextIO) -> None:
    """The human summary: a preview (or the grid's matrix), largest losses, groups, totals."""
    preview = summary.preview
    if summary.grid:
        print("total loss, years (rows) by discount rate (columns):", file=out)
        _print_frame(summary.matrix, out=out, money=set(summary.matrix.columns[1:]))
    if preview is not None and preview.height:
        if summary.grid:
            print(f"first rows of the long table ({summary.output_rows:,} rows):", file=out)
        _print_frame(preview, out=out)
        if summary.output_rows > preview.height:
            unit = "rows" if summary.grid else "buildings"
            print(f"... showing {preview.height} of {summary.output_rows:,} {unit}", file=out)
    if summary.top is not None and summary.top.height:
        print(f"largest {summary.top.height} losses:", file=out)
        _print_frame(summary.top, out=out)
    if summary.groups.height:
        print("by group:", file=out)
        _print_frame(summary.groups, out=out)
    if summary.total_loss is not None:
        print(
            f"total loss: {_money(summary.total_loss)}  ({counted(summary.rows, 'building')}, "
            f"{summary.formula} formula, {summary.years} years, discount rate "
            f"{summary.discount_rate})",
            file=out,
        )
    else:
        print(
            f"({counted(summary.rows, 'building')}, {summary.formula} formula, "
            f"{summary.totals.height} scenarios; every exact total with --json, every row with -o)",
            file=out,
        )
    if summary.rejected:
        print(
            f"rejected: {counted(summary.rejected, 'row')}, written to {summary.rejects}", file=out
        )


def _print_frame(frame: pl.DataFrame, *, out: TextIO, money: set[str] = _MONEY) -> None:
    """Every column right-aligned under its name; losses with separators and two decimals."""
    cells = {
        name: [
            _money(v) if name in money and v is not None else str(v) for v in frame[name].to_list()
        ]
        for name in frame.columns
    }
    widths = {name: max(len(name), *(len(c) for c in col)) for name, col in cells.items()}
    print("  ".join(f"{name:>{widths[name]}}" for name in frame.columns), file=out)
    for i in range(frame.height):
        print("  ".join(f"{cells[name][i]:>{widths[name]}}" for name in frame.columns), file=out)


def _print_risk(result: RiskResult, *, out: TextIO) -> None:
    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        thousands_separator=True,
        float_precision=2,
        tbl_rows=50,
    ):
        print(f"average annual loss ({result.method}):", file=out)
        print(result.aal, file=out)
        print(
            "loss at each return period (OEP: largest event of a year; AEP: the year's total):",
            file=out,
        )
        curves = result.curves()
        periods = curves["return_period"]
        if (periods == periods.round()).all():  # (10, 50, 100, not 10.00, 50.00, 100.00)
            curves = curves.with_columns(periods.cast(pl.Int64))
        print(curves, file=out)
