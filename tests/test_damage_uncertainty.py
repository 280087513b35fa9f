"""Damage uncertainty: each hit's loss times a lognormal draw of mean 1, keyed like the hits,
so the AAL is the mean-damage AAL in expectation and the bits do not depend on how the run is
cut."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vecloss
from vecloss.cli import main
from vecloss.exceptions import UsageError, ValidationError
from vecloss.risk.draws import mix
from vecloss.risk.tally import damage_factors, severity
from vecloss.scenario import Scenario


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return vecloss.portfolio(3_000, seed=21).with_columns(
        cv=pl.Series(np.random.default_rng(2).uniform(0.0, 1.5, 3_000))
    )


@pytest.mark.parametrize("cv", [0.25, 1.0, 2.0])
def test_the_draws_have_mean_one_and_the_coefficient_of_variation_asked_for(cv: float) -> None:
    n = 1_000_000
    z = damage_factors(mix(np.arange(n, dtype=np.uint64)), np.ones(n, np.int64), np.full(n, cv))
    assert (z > 0).all()
    sd = math.sqrt(math.expm1(math.log1p(cv * cv)))  # = cv, the lognormal's own
    assert abs(z.mean() - 1) < 5 * sd / math.sqrt(n)
    log_sd = math.sqrt(math.log1p(cv * cv))
    assert abs(np.log(z).std() - log_sd) < 5 * log_sd / math.sqrt(2 * n)


def test_no_spread_is_the_run_without_damage_to_the_bit(frame: pl.DataFrame) -> None:
    plain = vecloss.simulate(frame, periods=2_000, seed=4)
    assert vecloss.simulate(frame, periods=2_000, seed=4, damage_cv=0.0).equals(plain)
    zeros = frame.with_columns(cv=pl.lit(0.0))
    assert vecloss.simulate(zeros, periods=2_000, seed=4, damage_cv="cv").equals(plain)


def test_the_aal_keeps_its_mean_and_the_variance_gains_the_damage_part(
    frame: pl.DataFrame,
) -> None:
    periods = 40_000
    result = vecloss.risk(frame, periods=periods, seed=8, damage_cv="cv")
    p = frame["hazard_probability"].to_numpy()
    loss = severity(frame, Scenario.parse("complex", 10, 0.05))
    cv = frame["cv"].to_numpy()
    mean = float(np.sum(p * loss))
    hazard, damage = np.sum(p * (1 - p) * loss**2), np.sum(p * loss**2 * cv**2)
    aal = result.aal.row(0, named=True)
    assert abs(aal["mean_loss"] - mean) < 4.5 * aal["std_error"]
    assert aal["sd_loss"] == pytest.approx(math.sqrt(hazard + damage), rel=0.1)
    assert aal["sd_loss"] > 1.2 * math.sqrt(hazard)  # (the damage part is there)


def test_the_bits_do_not_depend_on_batches_order_or_executor(
    frame: pl.DataFrame, tmp_path: Path
) -> None:
    options = {"periods": 1_000, "seed": 3, "damage_cv": "cv", "by": "region"}
    first = vecloss.simulate(frame, **options)  # type: ignore[arg-type]
    assert vecloss.simulate(frame, batch_rows=333, **options).equals(first)  # type: ignore[arg-type]
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    assert vecloss.simulate(shuffled, **options).equals(first)  # type: ignore[arg-type]
    shared = {**options, "shared_by": "region", "by": None}
    once = vecloss.simulate(frame, **shared)  # type: ignore[arg-type]
    assert vecloss.simulate(shuffled, batch_rows=500, **shared).equals(once)  # type: ignore[arg-type]
    pytest.importorskip("distributed")
    folder = tmp_path / "lake"
    folder.mkdir()
    for k, part in enumerate(frame.iter_slices(1_000)):
        part.write_parquet(folder / f"part-{k}.parquet")
    on_dask = vecloss.simulate(folder, engine="dask", workers=2, **options)  # type: ignore[arg-type]
    assert on_dask.equals(first)


def test_what_cannot_be_asked_is_refused_and_a_bad_column_is_named(frame: pl.DataFrame) -> None:
    with pytest.raises(UsageError, match="exact mode has no damage uncertainty"):
        vecloss.risk(frame, exact=True, damage_cv=0.3)
    with pytest.raises(UsageError, match="not modelled yet"):
        vecloss.risk(frame.with_columns(d=pl.lit(1.0)), damage_cv=0.3, deductible="d")
    with pytest.raises(UsageError, match="damage_cv must be a number"):
        vecloss.risk(frame, damage_cv=-0.1)
    bad = frame.head(5).with_columns(cv=pl.Series([0.1, -1.0, 0.2, float("nan"), 0.3]))
    with pytest.raises(ValidationError, match=r"cv: out_of_range \(must be >= 0\)"):
        vecloss.risk(bad, damage_cv="cv")


def test_ord_files_say_full_uncertainty_and_the_command_line_takes_a_column(
    frame: pl.DataFrame, tmp_path: Path
) -> None:
    result = vecloss.risk(frame, periods=1_000, seed=2, damage_cv=0.5)
    tables = result.ord_tables()
    assert set(tables["ept"]["EPCalc"].to_list()) == {2}
    assert tables["alt"]["SampleType"].to_list() == [2]
    frame.write_parquet(tmp_path / "p.parquet")
    args = ["risk", str(tmp_path / "p.parquet"), "--periods", "1000", "--seed", "2"]
    assert main([*args, "--damage-cv", "cv", "--ord", str(tmp_path / "ord")]) == 0
    ept = pl.read_csv(tmp_path / "ord" / "ept.csv")
    assert set(ept["EPCalc"].to_list()) == {2}
