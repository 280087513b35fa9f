"""Insured losses: a deductible and a limit per building, taken on each hit's loss, beside the
gross results from the same draws; exact mode against brute-force enumeration."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecloss
from tests.conftest import EXAMPLE
from tests.test_risk import RPS, _outcomes, _tail, small_portfolios
from vecloss.cli import main
from vecloss.exceptions import InputError, UsageError, ValidationError
from vecloss.formulas import discount_factor
from vecloss.risk.tally import severity
from vecloss.scenario import Scenario


def insured_by_hand(frame: pl.DataFrame) -> np.ndarray:
    """Each building's insured loss if hit, discounted: min(max(S - D, 0), L) / (1 + d)**T."""
    factor = discount_factor(10, 0.05)
    gross = severity(frame.with_columns(pl.col(pl.Float64)), Scenario.parse("complex", 10, 0.05))
    undiscounted = gross / factor
    kept = np.minimum(np.maximum(undiscounted - frame["ded"].to_numpy(), 0.0), frame["lim"])
    return kept * factor


def with_terms(frame: pl.DataFrame, data: st.DataObject) -> pl.DataFrame:
    """Deductibles and limits as fractions of each building's loss if hit (undiscounted),
    so that every term matters: none, below, within and beyond the loss."""
    n = frame.height
    factor = discount_factor(10, 0.05)
    gross = severity(frame.with_columns(pl.col(pl.Float64)), Scenario.parse("complex", 10, 0.05))
    share = st.sampled_from([0.0, 0.3, 0.7, 1.5])
    ded = np.array(data.draw(st.lists(share, min_size=n, max_size=n)))
    lim = np.array(data.draw(st.lists(share.map(lambda v: v + 0.1), min_size=n, max_size=n)))
    return frame.with_columns(ded=gross / factor * ded, lim=gross / factor * lim + 1.0)


@settings(max_examples=50, deadline=None)
@given(frame=small_portfolios(), shared=st.booleans(), data=st.data())
def test_exact_insured_matches_brute_force(
    frame: pl.DataFrame, shared: bool, data: st.DataObject
) -> None:
    frame = with_terms(frame, data)
    shared_by = "region" if shared else None
    result = vecloss.risk(
        frame, exact=True, return_periods=RPS, shared_by=shared_by, deductible="ded", limit="lim"
    )
    outcomes = _outcomes(frame, shared_by, insured_by_hand(frame))
    aggregate = [(q, float(sum(events))) for q, events in outcomes]
    largest = [(q, max(events, default=0.0)) for q, events in outcomes]
    mean = float(sum(q * Fraction(v) for q, v in aggregate))
    var = float(sum(q * (Fraction(v) - Fraction(mean)) ** 2 for q, v in aggregate))
    # S - D cancels when the deductible is near the loss: the error is the operands' rounding
    scale = 1e-12 * float(np.sum(severity(frame, Scenario.parse("complex", 10, 0.05)))) + 1e-12
    insured = result.aal.filter(pl.col("perspective") == "insured").row(0, named=True)
    assert insured["mean_loss"] == pytest.approx(mean, rel=1e-9, abs=scale)
    assert insured["sd_loss"] == pytest.approx(math.sqrt(var), rel=1e-9, abs=scale)
    curves = result.curves().filter(pl.col("perspective") == "insured")
    for i, rp in enumerate(RPS):
        for curve, dist in (("OEP", largest), ("AEP", aggregate)):
            var_x, tvar_x = _tail(dist, rp)
            assert curves[curve][i] == pytest.approx(var_x, rel=1e-9, abs=scale)
            assert curves[f"{curve} TVaR"][i] == pytest.approx(tvar_x, rel=1e-9, abs=scale)


@pytest.mark.parametrize("exact", [True, False])
def test_the_gross_side_is_the_run_without_terms(exact: bool) -> None:
    frame = vecloss.portfolio(2_000, seed=4).with_columns(ded=pl.lit(1e5), lim=pl.lit(2e6))
    options = {"exact": True} if exact else {"periods": 5_000, "seed": 9}
    if exact:
        frame = frame.head(16)  # (the exact AEP enumerates the outcomes)
    plain = vecloss.risk(frame, **options)  # type: ignore[arg-type]
    both = vecloss.risk(frame, deductible="ded", limit="lim", **options)  # type: ignore[arg-type]
    gross = both.aal.filter(pl.col("perspective") == "gross").drop("perspective")
    assert gross.equals(plain.aal)
    gross_ep = both.ep.filter(pl.col("perspective") == "gross").drop("perspective")
    assert gross_ep.equals(plain.ep)
    insured = both.aal.filter(pl.col("perspective") == "insured")
    assert insured["mean_loss"][0] < gross["mean_loss"][0]


def test_no_deductible_and_a_limit_above_every_loss_insures_the_gross_loss() -> None:
    frame = vecloss.portfolio(3_000, seed=5).with_columns(ded=pl.lit(0.0), lim=pl.lit(1e300))
    both = vecloss.risk(frame, periods=2_000, seed=3, deductible="ded", limit="lim")
    ylt = both.ylt
    assert ylt is not None
    gross = ylt.filter(pl.col("perspective") == "gross").drop("perspective")
    insured = ylt.filter(pl.col("perspective") == "insured").drop("perspective")
    assert gross.equals(insured)


def test_simulated_insured_aal_converges_to_the_exact_one() -> None:
    frame = vecloss.portfolio(12, seed=6).with_columns(
        hazard_probability=pl.Series([0.05, 0.2, 0.1, 0.3] * 3),
        ded=pl.lit(2e5),
        lim=pl.lit(8e5),
    )
    exact = vecloss.risk(frame, exact=True, deductible="ded", limit="lim").aal
    simulated = vecloss.risk(frame, periods=50_000, seed=1, deductible="ded", limit="lim").aal
    for perspective in ("gross", "insured"):
        want = exact.filter(pl.col("perspective") == perspective).row(0, named=True)
        got = simulated.filter(pl.col("perspective") == perspective).row(0, named=True)
        assert abs(got["mean_loss"] - want["mean_loss"]) < 5 * got["std_error"]


def test_terms_are_checked_like_the_schema(tmp_path: Path) -> None:
    frame = vecloss.read(EXAMPLE).with_columns(ded=pl.Series([0.0, -1.0, 5.0, 5.0, 5.0]))
    frame = frame.with_columns(lim=pl.Series([1.0, 1.0, 0.0, float("nan"), 9.0]))
    with pytest.raises(ValidationError) as caught:
        vecloss.risk(frame, exact=True, deductible="ded", limit="lim")
    text = str(caught.value)
    assert "ded: out_of_range (must be >= 0)" in text
    assert "lim: out_of_range (must be > 0)" in text
    assert "lim: not_finite" in text
    with pytest.raises(InputError, match="missing column lim"):
        vecloss.risk(vecloss.read(EXAMPLE).with_columns(ded=pl.lit(1.0)), limit="lim")
    with pytest.raises(UsageError, match="perspective"):
        vecloss.risk(frame.with_columns(perspective=pl.lit("a")), by="perspective", limit="lim")
    with pytest.raises(UsageError, match="same column"):
        vecloss.risk(frame, deductible="ded", limit="ded")


def test_command_line_and_dask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = vecloss.portfolio(4_000, seed=8).with_columns(ded=pl.lit(5e4), lim=pl.lit(1e6))
    folder = tmp_path / "lake"
    folder.mkdir()
    for k, part in enumerate(frame.iter_slices(1_000)):
        part.write_parquet(folder / f"part-{k}.parquet")
    args = ["risk", str(folder), "--periods", "2000", "--seed", "2", "--json"]
    assert main([*args, "--deductible", "ded", "--limit", "lim"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out.splitlines()[-1])
    alone = vecloss.risk(frame, periods=2_000, seed=2, deductible="ded", limit="lim")
    assert printed["by"] == "perspective"
    pytest.importorskip("distributed")
    dask = vecloss.risk(
        folder, periods=2_000, seed=2, deductible="ded", limit="lim", engine="dask", workers=2
    )
    assert dask.aal.equals(alone.aal)
