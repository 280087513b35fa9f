"""Numbers in notebooks people read at a glance (the analyst's second afternoon, item 4): money
with thousands separators and two decimals, reasons in full, a total row."""

from __future__ import annotations

import polars as pl

import vecloss
from vecloss.display import html_table


def test_money_is_grouped_with_two_decimals_and_text_is_whole() -> None:
    frame = pl.DataFrame(
        {"region": ["north", "south"], "total_loss": [118792510.3712, 61684.406906],
         "reason": ["hazard_probability: out_of_range", None]}
    )  # fmt: skip
    page = html_table(frame, total=["total_loss"])
    assert "118,792,510.37" in page
    assert "61,684.41" in page
    assert "1.1879e8" not in page
    assert "hazard_probability: out_of_range" in page  # not cut to "out_of_ran..."
    assert "118,854,194.78" in page  # the total row
    assert "<b>total</b>" in page


def test_every_result_shows_readable_html() -> None:
    frame = vecloss.portfolio(2_000, seed=3)
    summary = vecloss.run(frame, by="region", top=3)
    page = summary._repr_html_()
    total = f"{summary.total_loss:,.2f}"
    assert page.count(total) >= 2  # the headline and the groups' total row
    dirty = frame.with_columns(
        hazard_probability=pl.when(pl.int_range(pl.len()) < 3)
        .then(7.0)
        .otherwise(pl.col("hazard_probability"))
    )
    report = vecloss.validate(dirty)._repr_html_()
    assert "hazard_probability: out_of_range" in report
    risk = vecloss.risk(frame, periods=1_000)._repr_html_()
    mean = vecloss.risk(frame, periods=1_000).aal["mean_loss"][0]
    assert f"{mean:,.2f}" in risk
