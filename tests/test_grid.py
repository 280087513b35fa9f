"""Scenario grids: every (years, discount rate) pair, the same bits as one run per pair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings

from tests import strategies as s
from tests.conftest import EXAMPLE, assert_close, assert_matches_reference, portfolio
from vecloss import formulas, losses, read, run
from vecloss.cli import main


@pytest.mark.parametrize("formula", formulas.names())
def test_two_by_two_grid_on_the_example(formula: str) -> None:
    frame = read(EXAMPLE)
    out = losses(frame, formula=formula, years=[10, 30], discount_rate=[0.03, 0.05])  # type: ignore[arg-type]
    assert out.columns == ["buildingId", "years", "discount_rate", "loss"]
    assert out.height == 20
    for (years, rate), part in out.group_by(["years", "discount_rate"], maintain_order=True):
        assert part["buildingId"].to_list() == [1, 2, 3, 4, 5]
        assert_matches_reference(
            frame, part["loss"], formula=formula, years=years, discount_rate=rate
        )  # type: ignore[arg-type]
    pairs = out.select("years", "discount_rate").unique(maintain_order=True).rows()
    assert pairs == [(10, 0.03), (10, 0.05), (30, 0.03), (30, 0.05)]


@settings(max_examples=60, deadline=None)
@given(
    frame=s.portfolios(min_rows=1, max_rows=40),
    formula=s.formulas,
    years=s.years,
    rate=s.discount_rates,
)
def test_grid_has_the_bits_of_single_runs(
    frame: pl.DataFrame, formula: str, years: int, rate: float
) -> None:
    grid = losses(
        frame,
        formula=formula,  # type: ignore[arg-type]
        years=sorted({years, 3}),
        discount_rate=sorted({rate, 0.0}),
    )
    for (t, d), part in grid.group_by(["years", "discount_rate"], maintain_order=True):
        single = losses(frame, formula=formula, years=t, discount_rate=d)  # type: ignore[arg-type]
        np.testing.assert_array_equal(part["loss"].to_numpy(), single["loss"].to_numpy())


def test_run_grid_totals_and_long_output(tmp_path: Path) -> None:
    src = tmp_path / "p.parquet"
    portfolio(3000, seed=5).write_parquet(src)
    out = tmp_path / "o.parquet"
    summary = run(src, out, years=[5, 25], discount_rate=[0.0, 0.04, 0.1], batch_rows=1000)
    assert summary.total_loss is None
    assert (summary.rows, summary.output_rows, len(summary.totals)) == (3000, 18000, 6)
    written = pl.read_parquet(out)
    assert written.height == 18000
    for item in summary.totals.iter_rows(named=True):
        single = run(src, years=item["years"], discount_rate=item["discount_rate"])
        assert item["total_loss"] == single.total_loss
        part = written.filter(
            (pl.col("years") == item["years"]) & (pl.col("discount_rate") == item["discount_rate"])
        )
        assert_close(part["loss"].sum(), item["total_loss"])


def test_cli_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", str(EXAMPLE), "--years", "10,30", "--discount-rate", "0.03,0.05", "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["years"] == [10, 30]
    assert summary["discount_rate"] == [0.03, 0.05]
    assert [t["years"] for t in summary["totals"]] == [10, 10, 30, 30]
    assert main(["run", str(EXAMPLE), "--years", "10,30"]) == 0
    printed = capsys.readouterr().out
    assert "   10  517.80" in printed  # the matrix: years by discount rate
    assert "2 scenarios" in printed


def test_grid_overflow_rejects_the_building_everywhere(tmp_path: Path) -> None:
    frame = read(EXAMPLE).with_columns(
        inflation_rate=pl.when(pl.col("buildingId") == 2)
        .then(9.5)
        .otherwise(pl.col("inflation_rate"))
    )
    src = tmp_path / "p.parquet"
    frame.write_parquet(src)
    rejects = tmp_path / "r.csv"
    # (1 + d)**-T with d = -0.999 and T = 100 is 1e300: building 2's loss overflows there
    summary = run(src, years=[1, 100], discount_rate=[-0.999], on_invalid="skip", rejects=rejects)
    assert (summary.rows, summary.rejected) == (4, 1)
    rejected = pl.read_csv(rejects)
    assert rejected["buildingId"].to_list() == [2]
    assert "loss_overflow" in rejected["reason"][0]
