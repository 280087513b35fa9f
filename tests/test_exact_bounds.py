"""Exact AEP bounds at portfolio size: the true curve never leaves the two lattice curves
(against enumeration on small portfolios, and a long simulation on a larger one), and the
curves are close enough to use."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecloss
from vecloss.risk.exact import aep, events_of
from vecloss.risk.lattice import aep_bounds
from vecloss.risk.measures import distribution_tail

RPS = np.array([1, 1.5, 2, 3, 4, 7, 10, 20, 50, 100, 250, 1000.0])


def enumerated(p: np.ndarray, loss: np.ndarray, rps: np.ndarray) -> tuple[np.ndarray, ...]:
    """VaR and TVaR of the period total, every outcome enumerated."""
    values, probs = [], []
    for hits in itertools.product([0, 1], repeat=len(p)):
        hit = np.array(hits, dtype=bool)
        chance = float(np.prod(np.where(hit, p, 1 - p)))
        if chance > 0:
            values.append(float(loss[hit].sum()))
            probs.append(chance)
    order = np.argsort(values, kind="stable")
    total, mass = np.array(values)[order], np.array(probs)[order]
    exceed = np.concatenate([np.cumsum(mass[::-1])[::-1][1:], [0.0]])
    return distribution_tail(total, exceed, rps)


def between(low: np.ndarray, value: np.ndarray, high: np.ndarray) -> bool:
    slack = 1e-12 * np.maximum(np.abs(value), 1e-300)
    return bool(np.all(low <= value + slack) and np.all(value <= high + slack))


def assert_bounded(p: np.ndarray, loss: np.ndarray) -> None:
    """The enumerated VaR and TVaR lie between the lattice curves at every return period."""
    var, tvar = enumerated(p, loss, RPS)
    found = aep_bounds(p, loss, RPS)
    assert found is not None
    (var_low, tvar_low), (var_high, tvar_high) = found
    assert between(var_low, var, var_high)
    assert between(tvar_low, tvar, tvar_high)


@settings(max_examples=40, deadline=None)  # (~0.4 s each: lattices of up to 2**24 points)
@given(
    p=st.lists(
        st.sampled_from([0.0, 1e-4, 0.01, 0.1, 0.2, 0.25, 0.5, 0.9, 1.0]), min_size=1, max_size=9
    ),
    data=st.data(),
)
def test_the_true_curve_lies_between_the_lattice_curves(
    p: list[float], data: st.DataObject
) -> None:
    losses = st.floats(1e-3, 1e7) | st.sampled_from([1.0, 2.0, 1e6])  # lattice points too
    loss = np.array(data.draw(st.lists(losses, min_size=len(p), max_size=len(p))))
    assert_bounded(np.array(p), loss)


def test_one_loss_dwarfing_the_others_takes_a_coarser_lattice_and_still_bounds() -> None:
    assert_bounded(np.array([0.0, 1.0, 1e-4, 0.3]), np.array([1.0, 1.0, 4183.0, 0.02]))


def test_risk_gives_the_bounds_beyond_enumeration_and_a_long_simulation_agrees() -> None:
    frame = vecloss.portfolio(300, seed=11)  # 2**300 outcomes: no enumeration
    rps = [2, 10, 100, 1000]
    exact = vecloss.risk(frame, exact=True, return_periods=rps).ep.filter(
        pl.col("ep_type").str.starts_with("AEP")
    )
    assert exact["low"].null_count() == 0
    assert (exact["low"] <= exact["loss"]).all()
    assert (exact["loss"] <= exact["high"]).all()
    width = ((exact["high"] - exact["low"]) / exact["high"]).to_numpy()
    assert np.all(width < 1e-3)
    simulated = vecloss.risk(frame, periods=1_000_000, seed=5, return_periods=rps).ep.filter(
        pl.col("ep_type").str.starts_with("AEP")
    )
    both = exact.join(simulated, on=["ep_type", "return_period"], suffix="_sim")
    # the simulation's 95 % interval (widened a little for the four return periods seen at
    # once) meets the exact band
    slack = 0.25 * (both["high_sim"] - both["low_sim"])
    assert (both["low_sim"] - slack <= both["high"]).all()
    assert (both["high_sim"] + slack >= both["low"]).all()


def test_the_curves_are_within_a_tenth_of_a_percent_at_realistic_size() -> None:
    rng = np.random.default_rng(3)
    p, loss = rng.beta(0.5, 49.5, 20_000), rng.lognormal(12, 1.2, 20_000)
    found = aep_bounds(p, loss, RPS[2:])
    assert found is not None
    (var_low, tvar_low), (var_high, tvar_high) = found
    assert np.all((var_high - var_low) / var_high < 1e-3)
    assert np.all((tvar_high - tvar_low) / tvar_high < 1e-3)


@settings(max_examples=40, deadline=None)
@given(
    p=st.lists(
        st.sampled_from([0.0, 1e-4, 0.01, 0.1, 0.25, 0.5, 0.9, 1.0]), min_size=1, max_size=9
    ),
    data=st.data(),
)
def test_shared_draws_lie_between_the_lattice_curves_too(
    p: list[float], data: st.DataObject
) -> None:
    # cells of comonotone buildings (one draw per cell and period): each cell one event of
    # several possible losses, its own factor on the lattice's spectrum
    n = len(p)
    loss = np.array(data.draw(st.lists(st.floats(1e-3, 1e7), min_size=n, max_size=n)))
    cell = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    events = events_of(cell, np.array(p), loss)
    exact = aep(events, RPS)
    assert exact is not None
    found = aep_bounds(events.level - events.below, events.atom, RPS, cell=events.cell)
    assert found is not None
    (var_low, tvar_low), (var_high, tvar_high) = found
    assert between(var_low, exact[0], var_high)
    assert between(tvar_low, exact[1], tvar_high)


def test_shared_draws_beyond_enumeration_get_bounds_a_long_simulation_agrees_with() -> None:
    rng = np.random.default_rng(4)
    frame = vecloss.portfolio(80, seed=2).with_columns(
        block=pl.int_range(80) // 2, hazard_probability=pl.Series(rng.uniform(0.02, 0.3, 80))
    )
    rps = [2, 10, 100]
    exact = vecloss.risk(frame, exact=True, shared_by="block", return_periods=rps).ep.filter(
        pl.col("ep_type").str.starts_with("AEP")
    )  # 3**40 outcomes: no enumeration
    assert exact["low"].null_count() == 0
    width = ((exact["high"] - exact["low"]) / exact["high"]).to_numpy()
    assert np.all(width < 1e-3)
    simulated = vecloss.risk(
        frame, periods=400_000, seed=5, shared_by="block", return_periods=rps
    ).ep.filter(pl.col("ep_type").str.starts_with("AEP"))
    both = exact.join(simulated, on=["ep_type", "return_period"], suffix="_sim")
    slack = 0.25 * (both["high_sim"] - both["low_sim"])
    assert (both["low_sim"] - slack <= both["high"]).all()
    assert (both["high_sim"] + slack >= both["low"]).all()


def test_shared_draws_past_the_cells_budget_still_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("vecloss.risk.lattice"), "MAX_CELL_WORK", 1 << 12)
    rng = np.random.default_rng(4)
    frame = vecloss.portfolio(60, seed=2).with_columns(
        hazard_probability=pl.Series(rng.uniform(0.02, 0.3, 60)), block=pl.int_range(60) // 2
    )
    with pytest.warns(UserWarning, match="get NaN"):
        result = vecloss.risk(frame, exact=True, shared_by="block")
    assert result.ep.filter(pl.col("ep_type") == "AEP")["loss"].is_nan().all()
