"""The vectorized formulas agree with their scalar twins over the valid domain."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import strategies as s
from tests.conftest import (
    EXAMPLE,
    EXAMPLE_TOTAL,
    KERNEL_PATHS,
    assert_close,
    assert_matches_reference,
    kernel_path,
)
from vecloss.formulas import INPUTS, KERNELS, complex_loss, discount_factor, simple_loss
from vecloss.kernels.blocks import BLOCK_ROWS, _bounds, vectorized_losses
from vecloss.reference import reference_complex_loss, reference_simple_loss


def columns(frame: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[name].to_numpy() for name in INPUTS)


@settings(max_examples=300, deadline=None)
@given(frame=s.portfolios(), formula=s.formulas, years=s.years, rate=s.discount_rates)
def test_kernels_match_reference(
    frame: pl.DataFrame, formula: str, years: int, rate: float
) -> None:
    loss = KERNELS[formula](*columns(frame), years=years, discount_rate=rate)
    assert_matches_reference(frame, loss, formula=formula, years=years, discount_rate=rate)


@settings(max_examples=20, deadline=None)
@given(frame=s.portfolios(min_rows=1, max_rows=5), formula=s.formulas)
def test_years_zero_and_rate_zero_leave_growth_only(frame: pl.DataFrame, formula: str) -> None:
    loss = KERNELS[formula](*columns(frame), years=0, discount_rate=0.0)
    cost, area, prob, infl = columns(frame)
    growth = np.exp(infl * area / 1000) if formula == "complex" else 1.0
    expected = growth * cost * prob
    np.testing.assert_allclose(loss, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("path", KERNEL_PATHS)
@settings(max_examples=150, deadline=None)
@given(frame=s.portfolios(), formula=s.formulas, years=s.years, rate=s.discount_rates)
def test_engine_matches_reference(
    path: str, frame: pl.DataFrame, formula: str, years: int, rate: float
) -> None:
    with kernel_path(path):
        loss = vectorized_losses(columns(frame), formula=formula, years=years, discount_rate=rate)  # type: ignore[arg-type]
    assert_matches_reference(frame, loss, formula=formula, years=years, discount_rate=rate)


def one_call(path: str, formula: str, cols: tuple[np.ndarray, ...]) -> np.ndarray:
    """The whole columns through one call of the path's kernel."""
    if path == "numpy":
        return KERNELS[formula](*cols, years=30, discount_rate=0.03)
    from vecloss.kernels import compiled  # the jit extra: only on this path

    out = np.empty(len(cols[0]))
    low, high = _bounds()
    factor = discount_factor(30, 0.03)
    compiled.KERNELS[formula](*cols, 30, factor, low, high, out)
    return out


@pytest.mark.parametrize("path", KERNEL_PATHS)
@pytest.mark.parametrize("formula", ["complex", "simple"])
@pytest.mark.parametrize("rows", [0, 1, BLOCK_ROWS - 1, BLOCK_ROWS * 9 + 7])
def test_blocked_threaded_engine_equals_one_kernel_call(path: str, formula: str, rows: int) -> None:
    rng = np.random.default_rng(rows)
    cols = (
        rng.uniform(300, 6000, rows),
        rng.uniform(50, 20000, rows),
        rng.uniform(0, 0.6, rows),
        rng.uniform(-0.01, 0.09, rows),
    )
    with kernel_path(path):
        whole = one_call(path, formula, cols)
        for workers in (1, 2, 3):
            blocked = vectorized_losses(
                cols, formula=formula, years=30, discount_rate=0.03, workers=workers
            )
            np.testing.assert_array_equal(blocked, whole)


def test_example_total() -> None:
    frame = pl.read_json(EXAMPLE).cast(dict.fromkeys(INPUTS, pl.Float64))
    loss = complex_loss(*columns(frame), years=10, discount_rate=0.05)
    assert_matches_reference(frame, loss)
    assert_close(math.fsum(loss), EXAMPLE_TOTAL)


def test_example_by_hand() -> None:
    # building 1: 1200 * exp(0.03 * 2000 / 1000) * 0.1 / 1.05**10
    expected = 1200 * math.exp(0.06) * 0.1 / 1.05**10
    assert_close(reference_complex_loss(1200, 2000, 0.1, 0.03, 10, 0.05), expected)
    assert_close(
        reference_simple_loss(1200, 2000, 0.1, 0.03, 10, 0.05), 1200 * 1.03**10 * 0.1 / 1.05**10
    )


@given(area=st.floats(1e6, 1e9), infl=st.floats(1.0, 10.0), formula=s.formulas)
def test_overflow_is_not_finite_in_both(area: float, infl: float, formula: str) -> None:
    one = np.array
    loss = KERNELS[formula](
        one([1e300]), one([area]), one([1.0]), one([infl * 1e3]), years=100, discount_rate=0.0
    )
    reference = {"complex": reference_complex_loss, "simple": reference_simple_loss}[formula]
    assert not np.isfinite(loss[0])
    assert not math.isfinite(reference(1e300, area, 1.0, infl * 1e3, 100, 0.0))


def test_simple_ignores_floor_area() -> None:
    one = np.array
    a = simple_loss(one([1000.0]), one([1.0]), one([0.1]), one([0.02]))
    b = simple_loss(one([1000.0]), one([9999.0]), one([0.1]), one([0.02]))
    assert a[0] == b[0]
