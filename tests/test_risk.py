"""Risk: the hand check, exact vs brute force, simulated vs exact, invariance, groups, errors."""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import vecloss
from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, portfolio
from tests.strategies import formulas, portfolios
from vecloss.cli import main
from vecloss.exceptions import InputError, UsageError, ValidationError
from vecloss.risk.draws import value_keys
from vecloss.risk.hits import independent_hits
from vecloss.risk.ledger import QUANTUM, Ledger, limbs_of
from vecloss.risk.measures import moments, sample_tail
from vecloss.risk.result import EP_TYPES
from vecloss.risk.tally import severity
from vecloss.scenario import Scenario

RPS = (1, 1.5, 2, 3, 4, 7, 10)  # (1: the smallest possible loss, a p = 1 building's at least)


# -- the hand check and the definitions ------------------------------------------------------


def test_hand_check() -> None:
    losses = np.array([0, 5, 0, 12, 3, 0, 7, 0, 20, 1], dtype=float)
    mean, sd, se = moments(losses)
    assert mean == pytest.approx(4.8, rel=1e-15)
    assert sd == pytest.approx(6.646637, abs=5e-7)
    assert se == pytest.approx(sd / math.sqrt(10), rel=1e-15)
    var, tvar = sample_tail(losses, np.array([10.0, 5.0, 2.0]))
    assert var.tolist() == [20, 12, 3]
    assert tvar == pytest.approx([20, 16, 9.4], rel=1e-15)


def test_between_ranks_interpolates_in_the_return_period_as_oasis() -> None:
    losses = np.array([0, 5, 0, 12, 3, 0, 7, 0, 20, 1], dtype=float)
    var, tvar = sample_tail(losses, np.array([4.0]))  # between rank 2 (RP 5) and 3 (RP 10/3)
    weight = (4 - 10 / 3) / (5 - 10 / 3)
    assert var[0] == pytest.approx(7 + weight * (12 - 7), rel=1e-12)
    assert tvar[0] == pytest.approx(13 + weight * (16 - 13), rel=1e-12)


# -- a brute-force oracle in exact fractions -------------------------------------------------


def _outcomes(frame: pl.DataFrame, shared_by: str | None, loss: np.ndarray) -> list:
    """Every outcome of one period: (probability, [event losses]) by enumeration.

    Probabilities are the decimals as written (0.1 is 1/10): vecloss reads an
    exceedance within 1e-12 of 1/R as on the jump, as the user meant it."""
    p = [Fraction(repr(v)) for v in frame["hazard_probability"].to_list()]  # as written
    if shared_by is None:
        cells = [[i] for i in range(frame.height)]
    else:
        keys = frame[shared_by].to_list()
        cells = [[i for i in range(frame.height) if keys[i] == k] for k in dict.fromkeys(keys)]
    per_cell = []
    for cell in cells:
        ranked = sorted(cell, key=lambda i: -p[i])
        levels = [p[i] for i in ranked] + [Fraction(0)]
        options = [(1 - levels[0], 0.0)]
        for k in range(len(ranked)):
            options.append((levels[k] - levels[k + 1], sum(loss[i] for i in ranked[: k + 1])))
        per_cell.append(options)
    result = []
    for combo in itertools.product(*per_cell):
        prob = math.prod((c[0] for c in combo), start=Fraction(1))
        if prob:
            result.append((prob, [c[1] for c in combo]))
    return result


def _tail(dist: list[tuple[Fraction, float]], rp: float) -> tuple[float, float]:
    alpha = 1 / Fraction(rp)
    values = sorted({v for _, v in dist})
    for x in values:
        exceed = sum((q for q, v in dist if v > x), start=Fraction(0))
        if exceed <= alpha:
            beyond = sum((q * Fraction(v) for q, v in dist if v > x), start=Fraction(0))
            return x, float((beyond + Fraction(x) * (alpha - exceed)) / alpha)
    raise AssertionError


@st.composite
def small_portfolios(draw: st.DrawFn) -> pl.DataFrame:
    frame = draw(portfolios(min_rows=1, max_rows=6))
    p = draw(
        st.lists(
            st.sampled_from([0.0, 0.01, 0.1, 0.25, 0.3, 0.5, 0.9, 1.0]),
            min_size=frame.height,
            max_size=frame.height,
        )
    )
    groups = draw(st.lists(st.integers(0, 2), min_size=frame.height, max_size=frame.height))
    return frame.with_columns(
        hazard_probability=pl.Series(p),
        construction_cost=pl.col("construction_cost") + 1.0,
        region=pl.Series(groups),
    )


@settings(max_examples=60, deadline=None)
@given(frame=small_portfolios(), shared=st.booleans())
def test_exact_matches_brute_force(frame: pl.DataFrame, shared: bool) -> None:
    shared_by = "region" if shared else None
    result = vecloss.risk(frame, exact=True, return_periods=RPS, shared_by=shared_by)
    scenario = Scenario.parse("complex", 10, 0.05)
    loss = severity(frame.with_columns(pl.col(pl.Float64)), scenario)
    outcomes = _outcomes(frame, shared_by, loss)
    aggregate = [(q, float(sum(events))) for q, events in outcomes]
    largest = [(q, max(events, default=0.0)) for q, events in outcomes]
    mean = float(sum(q * Fraction(v) for q, v in aggregate))
    var = float(sum(q * (Fraction(v) - Fraction(mean)) ** 2 for q, v in aggregate))
    aal = result.aal.row(0, named=True)
    assert aal["mean_loss"] == pytest.approx(mean, rel=1e-12, abs=1e-300)
    assert aal["sd_loss"] == pytest.approx(math.sqrt(var), rel=1e-9, abs=1e-9 * mean)
    curves = result.curves()
    for i, rp in enumerate(RPS):
        for curve, dist in (("OEP", largest), ("AEP", aggregate)):
            var_x, tvar_x = _tail(dist, rp)
            assert curves[curve][i] == pytest.approx(var_x, rel=1e-9, abs=1e-12)
            assert curves[f"{curve} TVaR"][i] == pytest.approx(tvar_x, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(frame=portfolios(min_rows=1, max_rows=40), formula=formulas)
def test_exact_aal_is_the_run_total(frame: pl.DataFrame, formula: str) -> None:
    total = vecloss.losses(frame, formula=formula)["loss"].sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # beyond 2**20 outcomes the exact AEP is left out
        aal = vecloss.risk(frame, exact=True, formula=formula).aal["mean_loss"][0]
    assert aal == pytest.approx(total, rel=1e-12, abs=1e-300)


@settings(max_examples=25, deadline=None)
@given(frame=small_portfolios(), shared=st.booleans(), seed=st.integers(0, 2**64 - 1))
def test_simulated_aal_converges_to_the_exact_total(
    frame: pl.DataFrame, shared: bool, seed: int
) -> None:
    shared_by = "region" if shared else None
    loss = severity(frame, Scenario.parse("complex", 10, 0.05))
    assume(loss.max() < 2.0**90)  # the simulation's range (beyond: a clear InputError)
    exact = vecloss.risk(frame, exact=True, shared_by=shared_by).aal.row(0, named=True)
    periods = 20_000
    sim = vecloss.risk(frame, periods=periods, seed=seed, shared_by=shared_by).aal
    rounding = frame.height * QUANTUM  # each loss is rounded to the ledger's quantum
    bound = 6 * exact["sd_loss"] / math.sqrt(periods) + 1e-9 * exact["mean_loss"] + rounding
    assert abs(sim["mean_loss"][0] - exact["mean_loss"]) <= bound


def test_a_loss_beyond_the_ledger_range_is_a_clear_error() -> None:
    frame = portfolio(3, seed=0).with_columns(construction_cost=pl.lit(1e30))
    with pytest.raises(InputError, match="beyond the simulation's range"):
        vecloss.risk(frame, periods=1_000)
    assert vecloss.risk(frame, exact=True).aal["mean_loss"][0] > 0  # exact mode has no limit


def test_example_exact_aal_is_the_run_total() -> None:
    assert vecloss.risk(str(EXAMPLE), exact=True).aal["mean_loss"][0] == pytest.approx(
        EXAMPLE_TOTAL, rel=1e-12
    )


# -- simulation against the exact answer at N = 10**6 ------------------------------------------


def _portfolio_for_targets(rows: int, seed: int) -> pl.DataFrame:
    frame = portfolio(rows, seed=seed)
    rng = np.random.default_rng(seed)
    return frame.with_columns(
        hazard_probability=pl.Series(rng.uniform(0.001, 0.2, rows)),
        region=pl.Series(rng.integers(0, 3, rows)),
    )


def _exceedance(result: vecloss.RiskResult, curve: str) -> None:
    del result, curve


@pytest.mark.parametrize(("rows", "shared"), [(12, False), (18, False), (12, True), (40, True)])
def test_simulation_matches_exact_at_a_million_periods(rows: int, shared: bool) -> None:
    frame = _portfolio_for_targets(rows, seed=rows)
    shared_by = "region" if shared else None
    periods = 1_000_000
    rps = (10, 50, 100, 250, 500)
    exact = vecloss.risk(frame, exact=True, shared_by=shared_by, return_periods=rps)
    sim = vecloss.risk(frame, periods=periods, seed=7, shared_by=shared_by, return_periods=rps)
    e, s = exact.aal.row(0, named=True), sim.aal.row(0, named=True)
    assert abs(s["mean_loss"] - e["mean_loss"]) <= 3 * s["std_error"]
    ylt = sim.ylt
    assert ylt is not None
    for curve, column in (("OEP", "max_event_loss"), ("AEP", "loss")):
        sims = ylt[column].to_numpy()
        for rp, exact_var, sim_var, exact_tvar, sim_tvar in zip(
            rps,
            exact.curves()[curve],
            sim.curves()[curve],
            exact.curves()[f"{curve} TVaR"],
            sim.curves()[f"{curve} TVaR"],
            strict=True,
        ):
            alpha = 1 / rp
            noise = 5 * math.sqrt(alpha * (1 - alpha) / periods)
            above = float((sims > exact_var * (1 + 1e-9)).mean())  # P(L > VaR), simulated
            below = float((sims >= exact_var * (1 - 1e-9)).mean())  # P(L >= VaR)
            if above < alpha - noise and below > alpha + noise:  # not on a jump
                assert sim_var == pytest.approx(exact_var, rel=1e-9)
            assert sim_tvar == pytest.approx(exact_tvar, rel=0.02)


# -- draws, hits and the ledger --------------------------------------------------------------


def _splitmix64(z: int) -> int:
    """SplitMix64's output function in plain Python integers (an independent twin)."""
    mask = (1 << 64) - 1
    z = (z + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_value_keys_are_pinned_and_by_value() -> None:
    ints = value_keys(pl.Series([1, 2, None]))
    assert value_keys(pl.Series([1, 2, None], dtype=pl.Int32)).tolist() == ints.tolist()
    assert value_keys(pl.Series(["a", "bb", "", None])).tolist()[3] == ints.tolist()[2]
    strings = pl.Series(["x", "building-17", "é", "building-71"])
    keys = value_keys(strings)
    assert len(set(keys.tolist())) == 4
    assert value_keys(strings.slice(1, 2)).tolist() == keys[1:3].tolist()
    assert value_keys(pl.Series(["1"])).tolist() != value_keys(pl.Series([1])).tolist()
    # Pinned: a change here changes every simulated result for a given seed.
    assert int(ints[0]) == _splitmix64(1 ^ 0x1D) == 0x905C768AD49F146C


def test_independent_hits_follow_p() -> None:
    keys = value_keys(pl.Series(np.arange(1_000)))
    p = np.linspace(0.0, 1.0, 1_000)
    building, period = independent_hits(keys, p, 3_000)
    counts = np.bincount(building, minlength=1_000)
    assert counts[0] == 0
    assert counts[-1] == 3_000
    assert period.min() >= 1
    assert period.max() <= 3_000
    assert len(np.unique(building * 10_000 + period)) == len(building)  # one hit per period
    z = (counts - 3_000 * p) / np.sqrt(np.maximum(3_000 * p * (1 - p), 1e-300))
    assert np.abs(z[1:-1]).max() < 6
    assert abs(z[1:-1].mean()) < 0.2


@pytest.mark.parametrize("scale", [1.0, 1e9])  # 1e9: losses and sums that need the upper limbs
def test_ledger_sums_exactly_in_any_order(scale: float) -> None:
    rng = np.random.default_rng(3)
    loss = rng.lognormal(8, 3, 500) * scale
    rounded, limbs = limbs_of(loss)
    assert np.array_equal(np.rint(rounded / QUANTUM) * QUANTUM, rounded)
    cell = np.zeros(500, np.int64)
    period = rng.integers(1, 11, 500)
    one, two = Ledger(10), Ledger(10)
    for ledger in (one, two):
        ledger.rows_for(np.zeros(1, np.uint64), [(0, None, None)])
    one.add(cell, rounded, limbs, np.arange(500), period)
    order = rng.permutation(500)
    for chunk in np.array_split(order, 7):
        two.add(cell, rounded, limbs, chunk, period[chunk])
    assert np.array_equal(one.values(), two.values())
    assert np.array_equal(one.maxima(), two.maxima())
    expected = [math.fsum(rounded[period == t]) for t in range(1, 11)]
    assert one.values()[0] == pytest.approx(expected, rel=1e-15)


def test_ledgers_merge_exactly_whatever_their_cell_order() -> None:
    rng = np.random.default_rng(4)
    rounded, limbs = limbs_of(rng.lognormal(10, 2, 300))
    period = rng.integers(1, 6, 300)
    cell_keys = np.array([7, 3, 9], dtype=np.uint64)
    labels = {7: "a", 3: "b", 9: "c"}
    owner = rng.integers(0, 3, 300)
    whole, left, right = Ledger(5), Ledger(5), Ledger(5)
    for ledger, rows_of in ((whole, slice(None)), (left, slice(0, 150)), (right, slice(150, None))):
        keys = cell_keys[owner[rows_of]]
        rows = ledger.rows_for(keys, [labels[int(k)] for k in np.unique(keys)])
        picked = np.arange(300)[rows_of]
        ledger.add(rows, rounded[picked], limbs[:, picked], np.arange(len(picked)), period[picked])
    right.merge(left)  # the right half saw the cells in another order
    order = [right.cells.keys[k] for k in whole.cells.keys]
    assert np.array_equal(right.values()[order], whole.values())
    assert np.array_equal(right.maxima()[order], whole.maxima())


# -- invariance and groups -------------------------------------------------------------------


@pytest.fixture(scope="module")
def regional(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path, Path]:
    frame = portfolio(5_000, seed=5).with_columns(
        region=pl.Series(np.random.default_rng(5).choice(["north", "south", "east"], 5_000)),
        district=pl.Series(np.random.default_rng(6).integers(0, 40, 5_000)),
    )
    where = tmp_path_factory.mktemp("risk")
    ordered, shuffled = where / "ordered.parquet", where / "shuffled.parquet"
    frame.write_parquet(ordered, row_group_size=700)
    frame.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(shuffled)
    return frame, ordered, shuffled


@pytest.mark.parametrize("shared_by", [None, "district"])
def test_same_bits_for_any_batching_and_row_order(
    regional: tuple[pl.DataFrame, Path, Path], shared_by: str | None
) -> None:
    frame, ordered, shuffled = regional
    options = {"periods": 2_000, "seed": 11, "by": "region", "shared_by": shared_by}
    first = vecloss.simulate(frame, **options)
    for data, batch_rows in ((ordered, 1_000), (ordered, 100_000), (shuffled, 777)):
        assert vecloss.simulate(str(data), batch_rows=batch_rows, **options).equals(first)
    assert not vecloss.simulate(frame, **{**options, "seed": 12}).equals(first)


def test_group_curves_come_from_the_group_losses(
    regional: tuple[pl.DataFrame, Path, Path],
) -> None:
    frame, _, _ = regional
    by_region = vecloss.simulate(frame, periods=3_000, seed=2, by="region")
    whole = vecloss.simulate(frame, periods=3_000, seed=2)
    for region in ("east", "north", "south"):
        alone = vecloss.simulate(frame.filter(pl.col("region") == region), periods=3_000, seed=2)
        mine = by_region.filter(pl.col("region") == region).drop("region")
        assert mine.equals(alone)  # the region's own period losses, the same draws
    summed = by_region.group_by("period").agg(pl.col("loss").sum()).sort("period")
    assert np.allclose(summed["loss"], whole["loss"], rtol=1e-12, atol=0)
    result = vecloss.risk(frame, periods=3_000, seed=2, by="region")
    east = by_region.filter(pl.col("region") == "east")["loss"].to_numpy()
    var, _ = sample_tail(east, np.array([100.0]))
    row = result.ep.filter(
        (pl.col("region") == "east")
        & (pl.col("ep_type") == "AEP")
        & (pl.col("return_period") == 100)
    )
    assert row["loss"][0] == var[0]
    assert result.aal["region"].to_list() == ["east", "north", "south"]


# -- the surface: errors, skip mode, the command line ----------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"years": [10, 20]}, "one scenario"),
        ({"return_periods": (20_000,)}, "needs at least"),
        ({"exact": True, "seed": 3}, "without simulating"),
        ({"by": "buildingId"}, "one group per building"),
        ({"periods": 0}, "periods"),
        ({"seed": -1}, "seed"),
        ({"engine": "loop"}, "no engine"),
        ({"return_periods": (0.5,)}, ">= 1"),
        ({"by": 3}, "column name"),
    ],
)
def test_bad_parameters_are_usage_errors(kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        vecloss.risk(str(EXAMPLE), **kwargs)


def test_missing_group_column_is_named() -> None:
    with pytest.raises(InputError, match="missing column region"):
        vecloss.risk(str(EXAMPLE), by="region")


def test_skip_mode_accounts_for_every_row() -> None:
    frame = portfolio(100, seed=1).with_columns(
        hazard_probability=pl.when(pl.col("buildingId") <= 3)
        .then(2.0)
        .otherwise(pl.col("hazard_probability"))
    )
    with pytest.raises(ValidationError):
        vecloss.risk(frame)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = vecloss.risk(frame, on_invalid="skip", periods=1_000)
    assert any("3 rows set aside" in str(w.message) for w in caught)
    assert result.rows + result.rejected == 100
    assert result.rejected_rows is not None
    assert result.rejected_rows.height == 3
    clean = vecloss.risk(frame.filter(pl.col("buildingId") > 3), periods=1_000)
    assert result.aal.equals(clean.aal)  # the same draws for the same buildings


def test_result_displays_in_a_notebook() -> None:
    result = vecloss.risk(str(EXAMPLE), periods=1_000, seed=0)
    assert "1,000 simulated periods, seed 0" in repr(result)
    page = result._repr_html_()
    assert "<table" in page
    assert "Average annual loss" in page
    assert result.curves().columns == ["return_period", "OEP", "OEP TVaR", "AEP", "AEP TVaR"]


def test_cli_risk_writes_tables_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ep, aal, ylt = tmp_path / "ep.parquet", tmp_path / "aal.csv", tmp_path / "ylt.parquet"
    code = main(
        [
            "risk",
            str(EXAMPLE),
            "--periods",
            "1000",
            "--seed",
            "4",
            "--return-periods",
            "10,100",
            "-o",
            str(ep),
            "--aal",
            str(aal),
            "--ylt",
            str(ylt),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "average annual loss" in printed
    assert re.search(r"^│ 10 +┆ [\d,]+\.\d\d ", printed, re.M)  # (whole periods, not 10.00)
    assert main(["risk", str(EXAMPLE), "--periods", "100", "--return-periods", "2.5,10"]) == 0
    assert re.search(r"^│ 2\.50 +┆.*\n│ 10\.00 ", capsys.readouterr().out, re.M)
    assert pl.read_parquet(ep).height == 8
    assert pl.read_csv(aal).columns == ["mean_loss", "sd_loss", "std_error", "low", "high"]
    assert pl.read_parquet(ylt).height == 1_000
    assert main(["risk", str(EXAMPLE), "--exact", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["aal"][0]["mean_loss"] == pytest.approx(EXAMPLE_TOTAL, rel=1e-12)
    assert report["exact"] is True
    assert len(report["ep"]) == 20


def test_cli_risk_refuses_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["risk", str(EXAMPLE), "--exact", "--ylt", str(tmp_path / "y.parquet")]) == 2
    assert main(["risk", str(EXAMPLE), "-o", str(EXAMPLE)]) == 2
    assert (
        main(
            ["risk", str(EXAMPLE), "-o", str(tmp_path / "a.csv"), "--aal", str(tmp_path / "a.csv")]
        )
        == 2
    )
    assert main(["risk", str(EXAMPLE), "--years", "5,10"]) == 2
    assert "one scenario" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_exact_oep_at_return_period_one_is_a_certain_buildings_loss() -> None:
    # a building hit every year (p = 1): the year's largest event is never below its loss;
    # the exact OEP put a 0 of no probability at the bottom of the distribution (risk issue 1)
    frame = vecloss.read(EXAMPLE).with_columns(
        hazard_probability=pl.Series([1.0, 0.1, 0.0, 0.5, 0.2])
    )
    scenario = Scenario.parse("complex", 10, 0.05)
    certain = severity(frame.head(1), scenario)[0]
    exact = vecloss.risk(frame, exact=True, return_periods=(1, 2)).curves()
    assert exact["OEP"][0] == pytest.approx(certain, rel=1e-12)
    assert exact["AEP"][0] == pytest.approx(certain, rel=1e-12)  # only it is sure to be hit
    simulated = vecloss.risk(frame, periods=1_000, return_periods=(1, 2)).curves()
    assert simulated["OEP"][0] == pytest.approx(certain, rel=1e-12)


def test_too_many_groups_for_the_period_ledger_is_refused_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # risk issue, item 7: 50,000 groups x 10,000 periods died with "internal error: MemoryError"
    monkeypatch.setenv("VECLOSS_LEDGER_GIB", "0.02")  # 20 MiB: 500 x 1,000 periods fit
    frame = vecloss.portfolio(3_000, seed=2).with_columns(group=pl.int_range(pl.len()) % 500)
    with pytest.raises(vecloss.InputError, match=r"500 groups .* x 10,000 periods need about"):
        vecloss.risk(frame, by="group")
    assert vecloss.risk(frame, by="group", exact=True).aal.height == 500  # no ledger
    assert vecloss.risk(frame, by="group", periods=1_000).aal.height == 500


def test_the_95_percent_intervals_cover_the_exact_figures() -> None:
    # risk issue, item 4: VaR (order statistics), TVaR (Chen 2008) and AAL (mean -+ 1.96 SE)
    # intervals, checked by their coverage of the exact values over 300 seeds
    rng = np.random.default_rng(5)
    small = vecloss.portfolio(16, seed=5).with_columns(
        hazard_probability=pl.Series(rng.uniform(0.01, 0.1, 16))
    )
    rps = (10, 50)
    exact = vecloss.risk(small, exact=True, return_periods=rps)
    truth = exact.ep.select("ep_type", "return_period", pl.col("loss").alias("exact"))
    covered: dict[tuple[str, float], list[bool]] = {}
    for seed in range(300):
        result = vecloss.risk(small, periods=2_000, seed=seed, return_periods=rps)
        joined = result.ep.join(truth, on=["ep_type", "return_period"])
        for row in joined.iter_rows(named=True):
            inside = row["low"] <= row["exact"] <= row["high"]
            covered.setdefault((row["ep_type"], row["return_period"]), []).append(inside)
        aal = result.aal.row(0, named=True)
        inside = aal["low"] <= exact.aal["mean_loss"][0] <= aal["high"]
        covered.setdefault(("AAL", 0.0), []).append(inside)
    rates = {key: float(np.mean(hits)) for key, hits in covered.items()}
    assert min(rates.values()) >= 0.92, rates  # (binomial sd over 300 seeds: 1.3 points)
    for key in [("AEP", 10.0), ("AEP TVaR", 10.0), ("AEP TVaR", 50.0), ("AAL", 0.0)]:
        assert rates[key] <= 0.99, rates  # not an interval wide enough to say nothing
    assert exact.ep["low"].null_count() == exact.ep.height  # exact: no sampling interval


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ord_tables_read_back_as_the_result(tmp_path: Path, fmt: str) -> None:
    # risk issue, item 6: OasisLMF's names, codes and orders (EPType 1-4, return periods down)
    frame = vecloss.portfolio(800, seed=9)
    result = vecloss.risk(frame, by="region", periods=2_000, return_periods=(10, 50, 100))
    paths = result.to_ord(tmp_path / "ord", format=fmt)
    read = {p.stem: pl.read_csv(p) if fmt == "csv" else pl.read_parquet(p) for p in paths}
    ept, alt, names = read["ept"], read["alt"], read["summary_map"]
    assert ept.columns == ["SummaryId", "EPCalc", "EPType", "ReturnPeriod", "Loss"]
    assert alt.columns == ["SummaryId", "SampleType", "MeanLoss", "SDLoss"]
    assert names["region"].to_list() == result.aal["region"].to_list()
    first = ept.filter(pl.col("SummaryId") == 1)
    assert first["ReturnPeriod"].to_list() == [100.0, 50.0, 10.0] * 4  # descending, per type
    assert first["EPType"].to_list() == [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    for code, name in enumerate(EP_TYPES, start=1):
        for row in names.iter_rows(named=True):
            mine = result.ep.filter(
                (pl.col("region") == row["region"]) & (pl.col("ep_type") == name)
            ).sort("return_period", descending=True)["loss"]
            theirs = ept.filter(
                (pl.col("SummaryId") == row["SummaryId"]) & (pl.col("EPType") == code)
            )["Loss"]
            assert theirs.to_list() == mine.to_list()
    assert alt["MeanLoss"].to_list() == result.aal["mean_loss"].to_list()
    assert alt["SDLoss"].to_list() == result.aal["sd_loss"].to_list()


def test_cli_writes_the_ord_tables_with_the_other_outputs(tmp_path: Path) -> None:
    args = ["risk", str(EXAMPLE), "--periods", "1000", "--return-periods", "10,100"]
    assert main([*args, "--ord", str(tmp_path / "ord"), "--ord-format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "ord").iterdir()) == ["alt.parquet", "ept.parquet"]
    assert pl.read_parquet(tmp_path / "ord" / "ept.parquet").height == 8


def test_too_few_periods_for_the_return_periods_says_both_ways_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from vecloss.cli import main

    assert main(["risk", str(EXAMPLE), "--periods", "100"]) == 2  # (the default goes to 500)
    err = capsys.readouterr().err
    assert "a return period of 500 needs at least that many periods, got 100" in err
    assert "--periods" in err
    assert "--return-periods" in err
    assert main(["risk", str(EXAMPLE), "--periods", "100", "--return-periods", "10,50"]) == 0
