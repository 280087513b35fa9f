"""Group totals, carried columns, and the Polars-native API agree with vecloss.losses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vecloss
from tests.conftest import EXAMPLE, assert_close, portfolio
from vecloss import formulas
from vecloss.cli import main


@pytest.fixture(scope="module")
def regional() -> pl.DataFrame:
    frame = portfolio(5000, seed=12)
    return frame.with_columns(
        region=pl.Series(np.array(["EU", "US", "APAC"])[frame["buildingId"].to_numpy() % 3])
    )


@pytest.mark.parametrize("formula", formulas.names())
def test_expression_and_namespaces_give_the_same_bits(regional: pl.DataFrame, formula: str) -> None:
    options = {"formula": formula, "years": 25, "discount_rate": 0.04}
    expected = vecloss.losses(regional, **options)["loss"]  # type: ignore[arg-type]
    assert regional.with_columns(vecloss.loss(**options))["loss"].equals(expected)  # type: ignore[arg-type]
    assert regional.vecloss.losses(**options)["loss"].equals(expected)  # type: ignore[attr-defined]
    lazy = regional.lazy().vecloss.losses(**options).collect()  # type: ignore[attr-defined]
    assert lazy["loss"].equals(expected)


def test_expression_in_group_by(regional: pl.DataFrame) -> None:
    by_expr = regional.group_by("region").agg(vecloss.loss().sum().alias("total")).sort("region")
    by_api = vecloss.losses(regional, by="region").sort("region")
    for total, expected in zip(by_expr["total"], by_api["total_loss"], strict=True):
        assert_close(total, expected)


def test_group_totals(regional: pl.DataFrame) -> None:
    groups = vecloss.losses(regional, by="region")
    assert groups.columns == [
        "years",
        "discount_rate",
        "region",
        "buildings",
        "total_loss",
        "mean_loss",
    ]
    full = vecloss.losses(regional)
    for row in groups.iter_rows(named=True):
        part = full.filter(pl.col("region") == row["region"])["loss"]
        assert row["buildings"] == part.len()
        assert_close(row["total_loss"], math.fsum(part.to_list()))
        assert_close(row["mean_loss"], row["total_loss"] / row["buildings"])


def test_run_keep_and_group_by_across_batches(regional: pl.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "p.parquet"
    regional.write_parquet(src)
    out = tmp_path / "o.csv"
    summary = vecloss.run(src, out, keep=["region"], by="region", batch_rows=700)
    written = pl.read_csv(out)
    assert written.columns == ["buildingId", "region", "loss"]
    assert written.height == regional.height
    expected = vecloss.losses(regional, by="region")
    assert summary.groups["region"].to_list() == expected["region"].to_list()
    for got, want in zip(
        summary.groups.iter_rows(named=True), expected.iter_rows(named=True), strict=True
    ):
        assert got["buildings"] == want["buildings"]
        assert_close(got["total_loss"], want["total_loss"])


def test_cli_group_by_and_missing_column(
    regional: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "p.parquet"
    regional.write_parquet(src)
    assert main(["run", str(src), "--group-by", "region", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {g["region"] for g in summary["groups"]} == {"EU", "US", "APAC"}
    assert sum(g["buildings"] for g in summary["groups"]) == 5000
    assert main(["run", str(src), "--group-by", "region"]) == 0
    assert "APAC" in capsys.readouterr().out
    assert main(["run", str(EXAMPLE), "--keep", "regoin"]) == 1
    assert "missing column regoin; found buildingId" in capsys.readouterr().err
