"""The fused fast path and the diagnostic path split every batch the same way."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import strategies as s
from tests.conftest import assert_matches_reference, portfolio
from vecloss.checks.ids import SeenIds, later_duplicates
from vecloss.kernels import Kernel
from vecloss.run.batch import _diagnose, check_batch
from vecloss.scenario import Scenario
from vecloss.schema import NUMERIC

NASTY = [np.nan, np.inf, -np.inf, 0.0, -1.0, -2.0, 1.5, 1e6, 5e3]


@st.composite
def dirty_batches(draw: st.DrawFn) -> pl.DataFrame:
    rows = draw(st.integers(1, 300))
    frame = portfolio(rows, seed=draw(st.integers(0, 5)))
    if draw(st.booleans()):
        frame = frame.sample(fraction=1.0, shuffle=True, seed=1)
    for _ in range(draw(st.integers(0, 6))):
        row = draw(st.integers(0, rows - 1))
        column = draw(st.sampled_from([c.name for c in NUMERIC] + ["buildingId"]))
        if column == "buildingId":
            other = draw(st.integers(0, rows - 1))
            value = frame["buildingId"][other]
        else:
            value = draw(st.sampled_from(NASTY))
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(value))
            .otherwise(pl.col(column))
            .alias(column)
        )
    return frame


@settings(max_examples=150, deadline=None)
@given(batch=dirty_batches(), formula=s.formulas)
def test_fast_path_equals_diagnostic_path(batch: pl.DataFrame, formula: str) -> None:
    scenario = Scenario.parse(formula, 20, 0.02)
    fast = check_batch(batch, scenario, Kernel(), row_offset=11, seen=SeenIds())
    slow_valid, slow_loss, slow_rejected = _diagnose(
        batch.with_row_index("__row", offset=11), scenario.spec, 20, 0.02, Kernel(), SeenIds()
    )
    assert fast.valid.equals(slow_valid)
    np.testing.assert_array_equal(fast.losses[0], slow_loss)
    assert fast.rejected.select("__row", "__failures").equals(
        slow_rejected.select("__row", "__failures")
    )
    assert fast.valid.height + fast.rejected.height == batch.height
    assert_matches_reference(
        fast.valid, fast.losses[0], formula=formula, years=20, discount_rate=0.02
    )


def test_later_duplicates() -> None:
    assert later_duplicates(pl.Series([1, 2, 3])) is None
    assert later_duplicates(pl.Series(["a", "c", "b"])) is None
    mask = later_duplicates(pl.Series([3, 1, 3, 3, None, None]))
    assert mask is not None
    assert mask.to_list() == [False, False, True, True, False, False]
    sorted_mask = later_duplicates(pl.Series([1, 2, 2, 5]))
    assert sorted_mask is not None
    assert sorted_mask.to_list() == [False, False, True, False]


@settings(max_examples=100, deadline=None)
@given(
    batches=st.lists(st.lists(st.integers(0, 60), unique=True, max_size=30), max_size=6),
    strings=st.booleans(),
    ordered=st.booleans(),
)
def test_seen_ids_finds_exactly_the_repeats(
    batches: list[list[int]], strings: bool, ordered: bool
) -> None:
    seen, before = SeenIds(), set()
    for ids in batches:
        ids = sorted(ids) if ordered else ids
        series = pl.Series([f"B{i}" for i in ids]) if strings else pl.Series(ids, dtype=pl.Int64)
        assert seen.add(series).to_list() == [i in before for i in ids]
        before |= set(ids)


@settings(max_examples=100, deadline=None)
@given(batch=dirty_batches())
def test_validated_fast_check_agrees_with_the_rules(batch: pl.DataFrame) -> None:
    from vecloss import ValidationError
    from vecloss.api import validated
    from vecloss.checks.rules import split_valid

    checked = split_valid(batch)
    try:
        result = validated(batch)
    except ValidationError:
        assert checked.rejected.height > 0
    else:
        assert checked.rejected.height == 0
        assert result.equals(checked.valid.drop("__row"))
