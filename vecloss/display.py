"""How results look in a notebook: HTML tables people read at a glance.

Money with thousands separators and two decimals, numbers right-aligned, text in full (a
reason is never cut to ``"hazard_probability: out_of_ran..."``), and, where a table has
parts of a whole, a total row. Polars' own HTML shows ``1.1879e8`` beside ``61684.406906``
and cuts long strings; the data itself is left as it is: only what is shown changes.
"""

from __future__ import annotations

import html
from collections.abc import Collection

import polars as pl

__all__ = ["MONEY", "counted", "html_table"]

#: Columns that hold currency.
MONEY = frozenset({"loss", "total_loss", "mean_loss", "sd_loss", "std_error", "OEP", "AEP"})
_MONEY_LIKE = ("OEP", "AEP", "TVaR")


def _is_money(name: str, money: Collection[str]) -> bool:
    return name in money or any(word in name for word in _MONEY_LIKE)


def _cell(value: object, *, money: bool) -> str:
    if value is None:
        return "<td style='text-align:right;color:#888'>null</td>"
    if isinstance(value, bool):
        return f"<td>{value}</td>"
    if isinstance(value, float):
        text = f"{value:,.2f}" if money else f"{value:,.6g}"
        return f"<td style='text-align:right'>{text}</td>"
    if isinstance(value, int):
        return f"<td style='text-align:right'>{value:,}</td>"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return f"<td style='text-align:left'>{html.escape(str(value))}</td>"


def html_table(
    frame: pl.DataFrame,
    *,
    money: Collection[str] = MONEY,
    total: Collection[str] = (),
    rows: int = 20,
) -> str:
    """``frame`` (its first ``rows`` rows) as an HTML table; with ``total``, a last row
    summing those columns over the whole frame."""
    head = "".join(
        f"<th style='text-align:{'left' if frame.schema[n] == pl.String else 'right'}'>"
        f"{html.escape(n)}</th>"
        for n in frame.columns
    )
    body = []
    for row in frame.head(rows).iter_rows():
        cells = "".join(
            _cell(v, money=_is_money(n, money)) for n, v in zip(frame.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    if frame.height > rows:
        body.append(
            f"<tr><td colspan='{frame.width}' style='text-align:left;color:#888'>"
            f"... {frame.height - rows:,} more rows</td></tr>"
        )
    if total and frame.height:
        sums = {n: frame[n].sum() for n in total if n in frame.columns}
        footer: list[str] = []
        for i, name in enumerate(frame.columns):
            if name in sums:
                cell = _cell(sums[name], money=_is_money(name, money))
                footer.append(cell.replace("<td style='", "<td style='font-weight:bold;", 1))
            elif i == 0:
                footer.append("<td style='text-align:left'><b>total</b></td>")
            else:
                footer.append("<td></td>")
        body.append(f"<tr style='border-top:2px solid'>{''.join(footer)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 building``, ``2 buildings``, ``1,000 buildings`` (``plural`` when not ``noun + s``)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
