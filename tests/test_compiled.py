"""The fused compiled kernels: their exp and power against libm, their checks against NumPy's."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import kernel_path
from vecloss import formulas
from vecloss.checks.rules import block_ok
from vecloss.formulas import INPUTS
from vecloss.kernels.blocks import BLOCK_ROWS, _bounds, checked_losses
from vecloss.schema import NUMERIC

pytest.importorskip("numba", reason="the compiled kernels are the jit extra")
from vecloss.kernels import compiled


@pytest.fixture(autouse=True)
def _compiled_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call in this module runs the compiled kernels unless it asks for NumPy."""
    monkeypatch.setenv("VECLOSS_JIT", "1")


ULP = 2.0**-52
ones = np.ones


def run(formula: str, infl: np.ndarray, years: int = 0, **values: np.ndarray) -> np.ndarray:
    """The kernel's loss with every other input 1 unless given (area 1000: growth alone)."""
    n = len(infl)
    cols = {"cost": ones(n), "area": np.full(n, 1000.0), "prob": ones(n), **values}
    out = np.empty(n)
    low, high = _bounds()
    kernel = compiled.KERNELS[formula]
    kernel(cols["cost"], cols["area"], cols["prob"], infl, years, 1.0, low, high, out)
    return out


def libm(function: str, *args: float) -> float:
    """``math.exp`` or ``math.pow``, with inf for a result too large (as the kernels give)."""
    try:
        result: float = getattr(math, function)(*args)
    except OverflowError:
        return math.inf
    return result


def is_normal(x: float) -> bool:
    return math.isfinite(x) and abs(x) >= np.finfo(np.float64).tiny


# Arguments over the whole float64 range of exp, its edges, and beyond them.
exp_arguments = (
    st.floats(-760.0, 720.0, allow_nan=False)
    | st.floats(-1.0, 1.0)
    | st.sampled_from([-745.2, -708.0, -707.9, 0.0, -0.0, 708.9, 709.0, 709.79, 709.8, 1e300])
)


@settings(max_examples=300, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 40), elements=exp_arguments))
def test_exp_within_one_ulp_of_libm(x: np.ndarray) -> None:
    got = run("complex", x)  # exp(x * 1000 / 1000)
    for value, loss in zip(x, got, strict=True):
        expected = libm("exp", value * 1000.0 / 1000.0)
        if is_normal(expected) and expected > 2.0**-1021:
            assert abs(loss - expected) <= ULP * expected, (value, loss, expected)
        else:  # underflow, overflow: computed by libm itself
            assert loss == expected, (value, loss, expected)


def test_exp_of_nan_and_infinities() -> None:
    got = run("complex", np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(got[0])
    assert got[1] == np.inf
    assert got[2] == 0.0


@settings(max_examples=300, deadline=None)
@given(
    base=st.floats(1e-3, 2.0) | st.sampled_from([1.0, 0.5, 1.5, 1.03]),
    years=st.integers(0, 3000) | st.sampled_from([0, 1, 2, 1023, 1024, 1025]),
)
def test_power_matches_pow(base: float, years: int) -> None:
    infl = np.array([base - 1.0])
    expected = libm("pow", 1.0 + infl[0], years)
    got = run("simple", infl, years)[0]
    if is_normal(expected):
        assert got == pytest.approx(expected, rel=1e-12, abs=0)
    else:
        assert got == expected


NASTY = [np.nan, np.inf, -np.inf, -1.0, 0.0, -0.0, 1.0, 1.0 + 1e-16, 2.0, -2.0, 1e308, 5e-324]


@pytest.mark.parametrize(
    "formula", [n for n, f in formulas.REGISTRY.items() if f.compiled is not None]
)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fused_checks_agree_with_block_ok(formula: str, data: st.DataObject) -> None:
    rows = data.draw(st.integers(1, 30))
    values = st.floats(-5.0, 1e4) | st.sampled_from(NASTY)
    columns = {name: data.draw(hnp.arrays(np.float64, rows, elements=values)) for name in INPUTS}
    checked = checked_losses(columns, formula=formula, years=30, discount_rate=0.0)
    with kernel_path("numpy"):
        reference = checked_losses(columns, formula=formula, years=30, discount_rate=0.0)
    loss = np.where(np.isfinite(reference.loss), reference.loss, np.inf)
    assert reference.ok == block_ok(columns, loss)
    # block_ok reads the bit patterns of columns bounded below by 0: a -0.0 there fails it
    # (the diagnostic path then accepts the row); otherwise both say the same.
    negative_zero = any(
        np.any(np.signbit(columns[c.name]) & (columns[c.name] == 0)) for c in NUMERIC if c.low >= 0
    )
    assert checked.ok == reference.ok or (negative_zero and checked.ok and not reference.ok)


@settings(max_examples=200, deadline=None)
@given(ids=hnp.arrays(np.int64, st.integers(0, 50), elements=st.integers(-5, 5)))
def test_id_order_counts_each_id_not_above_the_one_before(ids: np.ndarray) -> None:
    previous = -3
    expected = int(np.sum(np.diff(np.concatenate([[previous], ids])) <= 0))
    assert compiled.id_order(ids, previous) == expected


def test_checked_losses_reports_increasing_ids() -> None:
    columns = {name: ones(3) * 0.5 for name in INPUTS}
    assert checked_losses(columns, ids=np.array([1, 2, 5])).increasing
    assert not checked_losses(columns, ids=np.array([1, 5, 5])).increasing
    assert not checked_losses(columns).increasing  # not checked
    with kernel_path("numpy"):
        assert checked_losses(columns, ids=np.array([1, 2, 5])).increasing
        assert not checked_losses(columns, ids=np.array([1, 5, 5])).increasing


@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_id_order_is_checked_across_block_edges(path: str) -> None:
    rows = 3 * BLOCK_ROWS
    columns = {name: np.full(rows, 0.5) for name in INPUTS}
    ids = np.arange(rows, dtype=np.int64)
    with kernel_path(path):
        assert checked_losses(columns, ids=ids, workers=2).increasing
        for edge in (BLOCK_ROWS, 2 * BLOCK_ROWS):
            dipped = ids.copy()
            dipped[edge] = dipped[edge - 1]  # a repeat exactly where one block meets the next
            assert not checked_losses(columns, ids=dipped, workers=2).increasing


def test_a_frame_of_any_integer_id_type_takes_the_fused_check() -> None:
    import vecloss

    frame = pl.read_json("examples/data.json")
    for dtype in (pl.Int32, pl.UInt32, pl.UInt64, pl.String):
        out = vecloss.losses(frame.with_columns(pl.col("buildingId").cast(dtype)))
        assert out["loss"].equals(vecloss.losses(frame)["loss"])
