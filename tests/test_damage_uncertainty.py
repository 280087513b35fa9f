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
from vecloss.risk.measures import sample_tail
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


def _sample(ylt: pl.DataFrame, k: int) -> pl.DataFrame:
    return ylt.filter(pl.col("sample") == k).drop("sample")


def test_no_spread_is_the_run_without_damage_to_the_bit(frame: pl.DataFrame) -> None:
    plain = vecloss.simulate(frame, periods=2_000, seed=4)
    drawn = vecloss.simulate(frame, periods=2_000, seed=4, damage_cv=0.0)
    assert drawn["sample"].unique().to_list() == [0, 1]  # the mean damage, one sample
    assert _sample(drawn, 0).equals(plain)
    assert _sample(drawn, 1).equals(plain)
    zeros = frame.with_columns(cv=pl.lit(0.0))
    three = vecloss.simulate(zeros, periods=2_000, seed=4, damage_cv="cv", samples=3)
    assert all(_sample(three, k).equals(plain) for k in range(4))


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
    with pytest.raises(UsageError, match="need damage_cv"):
        vecloss.risk(frame, samples=3)
    with pytest.raises(UsageError, match="need damage_cv"):
        vecloss.risk(frame, damage_cap=1e6)
    with pytest.raises(UsageError, match="samples must be"):
        vecloss.risk(frame, damage_cv=0.3, samples=0)
    with pytest.raises(UsageError, match="damage_cap must be a number > 0"):
        vecloss.risk(frame, damage_cv=0.3, damage_cap=0)
    with pytest.raises(UsageError, match="one column twice"):
        vecloss.risk(frame, damage_cv="cv", damage_cap="cv")
    with pytest.raises(UsageError, match="damage_cv must be a number"):
        vecloss.risk(frame, damage_cv=-0.1)
    bad = frame.head(5).with_columns(cv=pl.Series([0.1, -1.0, 0.2, float("nan"), 0.3]))
    with pytest.raises(ValidationError, match=r"cv: out_of_range \(must be >= 0\)"):
        vecloss.risk(bad, damage_cv="cv")


def test_ord_files_say_full_uncertainty_and_the_command_line_takes_a_column(
    frame: pl.DataFrame, tmp_path: Path
) -> None:
    result = vecloss.risk(frame, periods=1_000, seed=2, damage_cv=0.5, samples=4)
    tables = result.ord_tables()
    assert set(tables["ept"]["EPCalc"].to_list()) == {1, 2, 3, 4}
    assert tables["alt"]["SampleType"].to_list() == [1, 2]
    assert set(tables["psept"]["SampleId"].to_list()) == {1, 2, 3, 4}
    frame.write_parquet(tmp_path / "p.parquet")
    args = ["risk", str(tmp_path / "p.parquet"), "--periods", "1000", "--seed", "2"]
    command = [*args, "--damage-cv", "cv", "--samples", "4", "--ord", str(tmp_path / "ord")]
    assert main(command) == 0
    ept = pl.read_csv(tmp_path / "ord" / "ept.csv")
    assert set(ept["EPCalc"].to_list()) == {1, 2, 3, 4}
    assert pl.read_csv(tmp_path / "ord" / "psept.csv").height == tables["psept"].height
    assert main([*args, "--samples", "4"]) == 2  # (samples without damage: a usage error)


def test_the_four_ep_calculations_are_those_of_the_year_loss_table(frame: pl.DataFrame) -> None:
    samples, rps = 5, (2, 10, 50, 100)
    result = vecloss.risk(
        frame, periods=2_000, seed=6, damage_cv="cv", samples=samples, return_periods=rps
    )
    ylt, calcs, rp = result.ylt, result.ep_calcs, np.array(rps, float)
    assert ylt is not None
    assert calcs is not None
    assert result.psept is not None

    def curve(calc: int, kind: str) -> np.ndarray:
        rows = calcs.filter((pl.col("ep_calc") == calc) & (pl.col("ep_type") == kind))
        return rows.sort("return_period")["loss"].to_numpy()

    def losses(k: int | None, column: str = "loss") -> np.ndarray:
        """Sample ``k``'s period losses (0: the mean damage), or every drawn sample's."""
        chosen = pl.col("sample") > 0 if k is None else pl.col("sample") == k
        return ylt.filter(chosen)[column].to_numpy()

    aep = {k: sample_tail(losses(k), rp) for k in range(samples + 1)}
    oep = {k: sample_tail(losses(k, "max_event_loss"), rp) for k in range(samples + 1)}
    assert np.array_equal(curve(1, "AEP"), aep[0][0])
    assert np.array_equal(curve(1, "OEP"), oep[0][0])
    pooled = sample_tail(losses(None), rp)
    assert np.array_equal(curve(2, "AEP"), pooled[0])
    assert np.array_equal(curve(2, "AEP TVaR"), pooled[1])
    wheat = np.mean([aep[k][0] for k in range(1, samples + 1)], axis=0)
    assert np.allclose(curve(3, "AEP"), wheat, rtol=1e-12)
    means = ylt.filter(pl.col("sample") > 0).group_by("period").agg(pl.all().mean())
    for kind, column in (("AEP", "loss"), ("OEP", "max_event_loss")):  # as OasisLMF's lecpy
        want = sample_tail(means[column].to_numpy(), rp)[0]
        assert np.allclose(curve(4, kind), want, rtol=1e-12)
    psept = result.psept.filter((pl.col("sample") == 2) & (pl.col("ep_type") == "OEP"))
    assert np.array_equal(psept.sort("return_period")["loss"].to_numpy(), oep[2][0])
    assert result.ep.filter(pl.col("ep_type") == "AEP")["loss"].to_numpy().tolist() == sorted(
        pooled[0].tolist()
    )


def test_the_standard_error_splits_into_its_hazard_and_damage_parts(frame: pl.DataFrame) -> None:
    periods = 20_000
    p = frame["hazard_probability"].to_numpy()
    loss = severity(frame, Scenario.parse("complex", 10, 0.05))
    cv = frame["cv"].to_numpy()
    hazard, damage = np.sum(p * (1 - p) * loss**2), np.sum(p * loss**2 * cv**2)
    for samples in (1, 4):
        aal = vecloss.risk(frame, periods=periods, seed=9, damage_cv="cv", samples=samples).aal.row(
            0, named=True
        )
        assert aal["se_hazard"] == pytest.approx(math.sqrt(hazard / periods), rel=0.1)
        assert aal["se_damage"] == pytest.approx(math.sqrt(damage / periods / samples), rel=0.1)
        parts = math.hypot(aal["se_hazard"], aal["se_damage"])
        assert aal["std_error"] == pytest.approx(parts, rel=0.1)
    capped = vecloss.risk(
        frame, periods=2_000, seed=9, damage_cv="cv", samples=3, damage_cap=5e6
    ).aal.row(0, named=True)  # estimated from the samples: the parts add up
    parts = math.hypot(capped["se_hazard"], capped["se_damage"])
    assert parts == pytest.approx(capped["std_error"], rel=1e-12)
    alone = vecloss.risk(frame, periods=2_000, seed=9, damage_cv="cv", damage_cap=5e6)
    assert alone.aal["se_damage"].is_nan().all()  # (one sample under a cap: not separable)


def test_each_draw_goes_through_the_cap_then_the_deductible_and_limit() -> None:
    one = vecloss.portfolio(1, seed=3).with_columns(
        hazard_probability=pl.lit(0.3), d=pl.lit(2e5), lim=pl.lit(9e5), cap=pl.lit(1.5e6)
    )
    options = {"periods": 3_000, "seed": 1, "damage_cv": 1.0, "samples": 3}
    base = vecloss.simulate(one, **options)  # type: ignore[arg-type]
    ylt = vecloss.simulate(one, deductible="d", limit="lim", damage_cap="cap", **options)  # type: ignore[arg-type]
    factor = 1 / 1.05**10  # (the terms are money of the year of the hit: discounted as S)
    gross = base["loss"].to_numpy()
    capped = np.minimum(gross, 1.5e6 * factor)
    insured = np.minimum(np.maximum(capped - 2e5 * factor, 0), 9e5 * factor)
    drawn = ylt.filter(pl.col("sample") > 0)
    mine = base["sample"].to_numpy() > 0
    for side, want in (("gross", capped), ("insured", insured)):
        got = drawn.filter(pl.col("perspective") == side)["loss"].to_numpy()
        assert np.allclose(got, want[mine], rtol=0, atol=1e-6)
    assert (gross[mine] > 1.5e6 * factor).any()
    assert (capped[mine] < 2e5 * factor).any()
    mean = ylt.filter((pl.col("sample") == 0) & (pl.col("perspective") == "insured"))
    hit = base.filter(pl.col("sample") == 0)["loss"].to_numpy()  # the terms on the mean damage
    want = np.minimum(np.maximum(np.minimum(hit, 1.5e6 * factor) - 2e5 * factor, 0), 9e5 * factor)
    assert np.allclose(mean["loss"].to_numpy(), want, rtol=0, atol=1e-6)
