"""Grids keep the columns an analyst groups by, and ``by`` takes several columns (the analyst's
second afternoon, item 3: the long table kept only id, scenario and loss, and ``by`` one column)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import vecloss


@pytest.fixture
def frame() -> pl.DataFrame:
    return vecloss.portfolio(3_000, seed=7).with_columns(
        occupancy=pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit("office"))
        .otherwise(pl.lit("home"))
    )


def _by_hand(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Each group's total for each pair, by a plain Polars group_by over losses()."""
    parts = []
    for years in (10, 30):
        loss = vecloss.losses(frame, years=years)["loss"]
        parts.append(
            frame.with_columns(loss=loss, years=pl.lit(years, pl.Int64))
            .group_by("years", *columns)
            .agg(buildings=pl.len(), total_loss=pl.col("loss").sum())
        )
    return pl.concat(parts).sort("years", *columns)


def test_a_grid_carries_the_columns_asked_for(frame: pl.DataFrame) -> None:
    long = vecloss.losses(frame, years=[10, 30], keep=["region"])
    assert long.columns == ["buildingId", "region", "years", "discount_rate", "loss"]
    mine = (
        long.group_by("years", "region")
        .agg(total_loss=pl.col("loss").sum())
        .sort("years", "region")
    )
    expected = _by_hand(frame, ["region"])
    assert mine["total_loss"].to_list() == pytest.approx(
        expected["total_loss"].to_list(), rel=1e-12
    )
    lazy = frame.lazy().vecloss.losses(years=[10, 30], keep=["region"]).collect()
    assert lazy.sort("years", "buildingId").equals(long.sort("years", "buildingId"))


def test_by_takes_several_columns_everywhere(frame: pl.DataFrame, tmp_path: Path) -> None:
    columns = ["region", "occupancy"]
    expected = _by_hand(frame, columns)
    for result in (
        vecloss.losses(frame, years=[10, 30], by=columns),
        vecloss.run(frame, years=[10, 30], by=columns).groups,
    ):
        got = result.sort("years", *columns)
        assert got["buildings"].to_list() == expected["buildings"].to_list()
        assert got["total_loss"].to_list() == pytest.approx(
            expected["total_loss"].to_list(), rel=1e-12
        )
    path = tmp_path / "p.parquet"
    frame.write_parquet(path)
    done = subprocess.run(
        [sys.executable, "-m", "vecloss", "run", str(path), "--by", "region,occupancy", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["groups"]) == expected.filter(pl.col("years") == 10).height


@pytest.mark.parametrize("by", [["region", "region"], [], [1], "region,occupancy"])
def test_bad_group_columns_are_usage_errors(frame: pl.DataFrame, by: object) -> None:
    with pytest.raises((vecloss.UsageError, vecloss.InputError)):
        vecloss.losses(frame, by=by)  # type: ignore[arg-type]


def test_risk_groups_by_several_columns(frame: pl.DataFrame, tmp_path: Path) -> None:
    columns = ["region", "occupancy"]
    result = vecloss.risk(frame, by=columns, periods=2_000, return_periods=(10, 100))
    assert result.aal.columns[:2] == columns
    assert result.ep.columns[:2] == columns
    groups = frame.select(columns).unique()
    assert result.aal.height == groups.height
    for region, occupancy in result.aal.select(columns).head(3).iter_rows():
        alone = frame.filter((pl.col("region") == region) & (pl.col("occupancy") == occupancy))
        # the draws depend on each building's id only: a group alone gives the same figures
        own = vecloss.risk(alone, periods=2_000, return_periods=(10, 100))
        mine = result.aal.filter(
            (pl.col("region") == region) & (pl.col("occupancy") == occupancy)
        ).drop(columns)
        assert mine.equals(own.aal)
    exact = vecloss.risk(frame.head(60), by=columns, exact=True)
    assert exact.aal.columns[:2] == columns
    one = vecloss.risk(frame, by=["region"], periods=2_000)
    assert one.by == "region"  # a list of one is the one column, as before
    path = tmp_path / "p.parquet"
    frame.write_parquet(path)
    done = subprocess.run(
        [sys.executable, "-m", "vecloss", "risk", str(path), "--by", "region,occupancy",
         "--periods", "1000", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["aal"]) == groups.height
