"""Columns in chunks: the kernels take NumPy views of each chunk, and give what one array gives."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecloss
from tests.conftest import kernel_path, portfolio
from vecloss.checks.ids import SeenIds
from vecloss.chunks import aligned_views
from vecloss.formulas import INPUTS
from vecloss.kernels.blocks import BLOCK_ROWS, checked_losses


def cut(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    edges = np.cumsum([0, *sizes])
    return [values[a:b] for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("path", ["numpy", "compiled"])
@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 3 * BLOCK_ROWS // 2), min_size=1, max_size=5))
def test_chunks_give_the_bits_of_one_array(path: str, sizes: list[int]) -> None:
    frame = portfolio(sum(sizes), seed=len(sizes))
    whole = {name: frame[name].to_numpy() for name in INPUTS}
    ids = frame["buildingId"].to_numpy()
    with kernel_path(path):
        one = checked_losses(whole, ids=ids, workers=2)
        parts = checked_losses(
            {name: cut(values, sizes) for name, values in whole.items()},
            ids=cut(ids, sizes),
            workers=2,
        )
    np.testing.assert_array_equal(parts.loss, one.loss)
    assert (parts.ok, parts.increasing) == (one.ok, one.increasing) == (True, True)


@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_id_order_and_bad_values_are_found_at_a_chunk_edge(path: str) -> None:
    frame = portfolio(1000, seed=2)
    columns = {name: cut(frame[name].to_numpy(), [400, 0, 600]) for name in INPUTS}
    ids = frame["buildingId"].to_numpy().copy()
    ids[400] = ids[399]  # a repeat exactly where one chunk meets the next (after an empty one)
    bad = {**columns, "hazard_probability": cut(frame["hazard_probability"].to_numpy(), [400, 600])}
    bad["hazard_probability"][1] = bad["hazard_probability"][1].copy()
    bad["hazard_probability"][1][0] = 1.5
    bad["hazard_probability"].insert(1, np.empty(0))
    with kernel_path(path):
        assert not checked_losses(columns, ids=cut(ids, [400, 0, 600])).increasing
        assert not checked_losses(bad).ok


def test_chunks_cut_differently_are_refused() -> None:
    columns = {name: [np.ones(3), np.ones(2)] for name in INPUTS}
    columns["floor_area"] = [np.ones(5)]
    with pytest.raises(ValueError, match="cut every column alike"):
        checked_losses(columns)


def test_aligned_views_copy_nothing_when_the_chunks_line_up() -> None:
    frame = pl.concat([portfolio(10, seed=1), portfolio(7, seed=2)], rechunk=False)
    columns = [frame[c] for c in frame.columns]
    views = aligned_views(columns)
    assert [[len(v) for v in column] for column in views] == [[10, 7]] * 5
    assert not any(v.flags.owndata for column in views for v in column)
    moved = [columns[0].rechunk(), *columns[1:]]  # the first in one chunk: the others joined
    assert [[len(v) for v in column] for column in aligned_views(moved)] == [[17]] * 5
    for column, view in zip(columns, aligned_views(columns[::-1])[::-1], strict=True):
        np.testing.assert_array_equal(np.concatenate(view), column.to_numpy())


def test_rising_ids_are_recorded_as_ranges_and_repeats_still_found() -> None:
    seen = SeenIds()
    assert not seen.add(pl.Series([1, 2, 3]), rising=True).any()
    assert not seen.add(pl.Series([4, 5]), rising=True).any()
    assert seen._ranges == [(1, 5)]
    assert seen.add(pl.Series([5, 6]), rising=True).to_list() == [True, False]
    assert not seen.add(pl.Series([10, 12]), rising=True).any()  # not consecutive: a run
    assert seen.add(pl.Series([11, 12, 13]), rising=True).to_list() == [False, True, False]


def test_a_parquet_run_over_many_row_groups_gives_the_frames_losses(tmp_path: Path) -> None:
    frame = portfolio(50_000, seed=4)
    path = tmp_path / "p.parquet"
    frame.write_parquet(path, row_group_size=3_000)  # several chunks in every batch
    out = tmp_path / "out.parquet"
    result = vecloss.run(path, output=out, batch_rows=20_000)
    expected = vecloss.losses(frame)["loss"]
    assert pl.read_parquet(out)["loss"].equals(expected)
    assert result.total_loss == pytest.approx(float(expected.sum()), rel=1e-12)
