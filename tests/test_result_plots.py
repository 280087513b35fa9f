"""``.plot()`` on the result objects (the analyst's second afternoon, item 5): each draws what
it says on the Axes it returns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import vecloss
from vecloss.risk.measures import empirical_curve

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return vecloss.portfolio(2_000, seed=1)


def test_risk_plot_draws_each_curve_with_its_band(frame: pl.DataFrame) -> None:
    result = vecloss.risk(frame, periods=2_000)
    ax = result.plot()
    assert [
        line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")
    ] == [
        "OEP",
        "AEP",
    ]
    assert ax.get_xscale() == "log"
    assert len(ax.collections) == 2  # one band per curve
    assert ax.get_ylim()[0] == 0
    aep = ax.get_lines()[2]  # the AEP line: every period's loss, largest at 2,000 years
    assert max(aep.get_xdata()) == pytest.approx(2_000)
    assert max(aep.get_ydata()) == result.ylt["loss"].max()
    exact = vecloss.risk(frame.head(10), exact=True).plot()
    assert len(exact.collections) == 0  # exact: no sampling band


def test_the_band_holds_the_curve_and_narrows_with_periods() -> None:
    rng = np.random.default_rng(3)
    rp, loss, low, high = empirical_curve(rng.exponential(size=10_000))
    assert (low <= loss).all()
    assert (loss <= high).all()
    at_10 = np.searchsorted(-rp, -10)
    wide = empirical_curve(rng.exponential(size=1_000))
    at_10_small = np.searchsorted(-wide[0], -10)
    assert high[at_10] - low[at_10] < wide[3][at_10_small] - wide[2][at_10_small]


def test_summary_plot_draws_the_grid_the_groups_or_the_top(frame: pl.DataFrame) -> None:
    grid = vecloss.run(frame, years=[10, 30], discount_rate=[0.03, 0.05])
    ax = grid.plot()
    shown = [t.get_text() for t in ax.texts]  # in the unit the title names
    assert "(millions)" in ax.get_title()
    assert shown == [f"{v / 1e6:,.0f}" for v in grid.matrix.drop("years").to_numpy().ravel()]
    groups = vecloss.run(frame, by="region").plot()
    assert len(groups.patches) == 8
    top = vecloss.run(frame, top=5).plot()
    assert len(top.patches) == 5
    with pytest.raises(vecloss.UsageError, match="nothing to plot"):
        vecloss.run(frame).plot()


def test_report_plot_counts_rows_per_rule(frame: pl.DataFrame) -> None:
    dirty = frame.with_columns(
        hazard_probability=pl.when(pl.int_range(pl.len()) < 30)
        .then(7.0)
        .otherwise(pl.col("hazard_probability"))
    )
    ax = vecloss.validate(dirty).plot()
    assert [p.get_width() for p in ax.patches] == [30]
    assert "30 of 2,000 rows" in ax.get_title()
