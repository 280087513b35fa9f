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
from vecloss import formulas
from vecloss.formulas import INPUTS, complex_loss, discount_factor, simple_loss
from vecloss.kernels.blocks import BLOCK_ROWS, _bounds, _compiled_twin, vectorized_losses
from vecloss.reference import reference_complex_loss, reference_loss, reference_simple_loss

#: (kernel path, formula) pairs: the compiled path for the formulas that declare a twin.
PATH_FORMULAS = [
    (path, name)
    for path in KERNEL_PATHS
    for name, formula in formulas.REGISTRY.items()
    if path == "numpy" or formula.compiled is not None
]


def columns(frame: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[name].to_numpy() for name in INPUTS)


def numpy_loss(formula: str, cols: tuple[np.ndarray, ...], years: int, rate: float) -> np.ndarray:
    """The formula's NumPy form over whole columns, in one call."""
    return formulas.get(formula).loss(dict(zip(INPUTS, cols, strict=True)), years, rate)


@settings(max_examples=300, deadline=None)
@given(frame=s.portfolios(), formula=s.formulas, years=s.years, rate=s.discount_rates)
def test_kernels_match_reference(
    frame: pl.DataFrame, formula: str, years: int, rate: float
) -> None:
    loss = numpy_loss(formula, columns(frame), years, rate)
    assert_matches_reference(frame, loss, formula=formula, years=years, discount_rate=rate)


@pytest.mark.parametrize("formula", ["complex", "simple"])
@settings(max_examples=20, deadline=None)
@given(frame=s.portfolios(min_rows=1, max_rows=5))
def test_years_zero_and_rate_zero_leave_growth_only(frame: pl.DataFrame, formula: str) -> None:
    loss = numpy_loss(formula, columns(frame), 0, 0.0)
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
        return numpy_loss(formula, cols, 30, 0.03)
    twin = _compiled_twin(formulas.get(formula).compiled)  # the jit extra: only on this path
    out = np.empty(len(cols[0]))
    low, high = _bounds()
    factor = discount_factor(30, 0.03)
    twin(*cols, 30, factor, low, high, out)
    return out


@pytest.mark.parametrize(("path", "formula"), PATH_FORMULAS)
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
    loss = numpy_loss(formula, (one([1e300]), one([area]), one([1.0]), one([infl * 1e3])), 100, 0.0)
    building = dict(zip(INPUTS, (1e300, area, 1.0, infl * 1e3), strict=True))
    assert not np.isfinite(loss[0])
    assert not math.isfinite(reference_loss(building, 100, 0.0, formula))


def test_simple_ignores_floor_area() -> None:
    one = np.array
    a = simple_loss(one([1000.0]), one([1.0]), one([0.1]), one([0.02]))
    b = simple_loss(one([1000.0]), one([9999.0]), one([0.1]), one([0.02]))
    assert a[0] == b[0]


@pytest.mark.parametrize(
    ("formula", "written_out"),
    [("complex", reference_complex_loss), ("simple", reference_simple_loss)],
)
@settings(max_examples=100, deadline=None)
@given(frame=s.portfolios(min_rows=1, max_rows=20), years=s.years, rate=s.discount_rates)
def test_builtin_scalar_twins_equal_the_formulas_written_out(
    formula: str, written_out: object, frame: pl.DataFrame, years: int, rate: float
) -> None:
    # the registry's scalar path (the oracle of every formula) against the two formulas
    # written out whole, independently of it: the same operations, so the same bits
    for row in frame.iter_rows(named=True):
        args = [row[c] for c in INPUTS]
        expected = written_out(*args, years, rate)  # type: ignore[operator]
        assert reference_loss(row, years, rate, formula) == expected


def test_the_registry_holds_every_formula_module_of_the_package() -> None:
    import pkgutil

    import vecloss.formulas as package

    modules = {
        m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
    } - {"definition"}
    declared = {f.severity.__module__.rsplit(".", 1)[-1] for f in formulas.REGISTRY.values()}
    assert declared == modules
    assert formulas.names()[0] == formulas.DEFAULT


def test_formula_docstrings_run() -> None:
    import doctest
    import importlib

    modules = ["vecloss.formulas", *(f.severity.__module__ for f in formulas.REGISTRY.values())]
    for name in modules:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, name
        assert result.failed == 0, name
