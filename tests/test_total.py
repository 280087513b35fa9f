"""The total is the same bits whatever the batch sizes, and close to the exact sum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecloss.run.total import SUM_BLOCK, Total


def total_in_batches(values: np.ndarray, sizes: list[int]) -> float:
    total, start = Total(), 0
    for size in sizes:
        total.add(values[start : start + size])
        start += size
    total.add(values[start:])
    return total.value


@pytest.fixture(scope="module")
def losses() -> np.ndarray:
    return np.random.default_rng(7).lognormal(5, 2, SUM_BLOCK * 5 + 123)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, SUM_BLOCK * 2), max_size=8))
def test_same_bits_for_any_batching(losses: np.ndarray, cuts: list[int]) -> None:
    assert total_in_batches(losses, cuts) == total_in_batches(losses, [])


def test_close_to_correctly_rounded_sum(losses: np.ndarray) -> None:
    exact = math.fsum(losses.tolist())
    got = total_in_batches(losses, [1000, 99_999])
    assert math.isclose(got, exact, rel_tol=1e-12, abs_tol=0)


def test_empty_is_zero() -> None:
    assert Total().value == 0.0


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(0, SUM_BLOCK * 4),
    cuts=st.lists(st.integers(0, SUM_BLOCK * 4), max_size=6),
    batch=st.integers(1, SUM_BLOCK * 2),
)
def test_parts_joined_at_the_seams_give_the_single_pass_blocks(
    losses: np.ndarray, rows: int, cuts: list[int], batch: int
) -> None:
    from vecloss.run.total import file_block_sums

    values = losses[:rows]
    single = Total()
    single.add(values)
    edges = sorted({0, rows, *(c for c in cuts if c < rows)})
    parts = []
    for start, stop in itertools.pairwise(edges):
        part = Total(offset=start)
        for lo in range(start, stop, batch):
            part.add(values[lo : min(lo + batch, stop)])
        parts.append(part.parts())
    assert file_block_sums(parts) == single.end_file()
