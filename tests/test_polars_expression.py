"""``vecloss.loss()``, the Polars expression: it checks the numeric rules as validation does
(the analyst's second afternoon, item 1: it used to give -423.72 and inf for rows that
``df.vecloss.losses()`` refuses)."""

from __future__ import annotations

import polars as pl
import pytest

import vecloss
from vecloss.exceptions import UsageError, ValidationError

DIRTY = pl.DataFrame(
    {
        "buildingId": [1, 2, 3, 4],
        "floor_area": [2000.0, 10.0, 5.0, 1e6],
        "construction_cost": [1200.0, 5.0, 5.0, 1200.0],
        "hazard_probability": [0.1, -0.5, None, 0.1],
        "inflation_rate": [0.02, 0.0, 0.01, 0.9],  # row 4: exp(900) overflows
    }
)


def test_the_loss_expression_never_gives_a_number_validation_would_reject() -> None:
    with pytest.raises(ValidationError) as caught:
        DIRTY.with_columns(vecloss.loss())
    text = str(caught.value)
    assert "3 rows of the batch break the schema" in text
    assert "hazard_probability: out_of_range, 1 row: row 2" in text
    assert "hazard_probability: null, 1 row: row 3" in text
    assert "loss" in text.split("row 3")[1]  # the overflow of row 4
    assert "loss: overflow, 1 row: row 4" in text  # listed beside the rules broken
    with pytest.raises(ValidationError):
        DIRTY.lazy().vecloss.losses(years=[10, 30]).collect()
    nulled = DIRTY.with_columns(vecloss.loss(on_invalid="null"))["loss"]
    assert nulled.is_null().to_list() == [False, True, True, True]
    assert nulled[0] == vecloss.losses(DIRTY.head(1))["loss"][0]
    grid = DIRTY.select(vecloss.loss(years=[10, 30], on_invalid="null")).unnest("loss")
    assert [grid[c].null_count() for c in grid.columns] == [3, 3]
    bare = DIRTY.with_columns(vecloss.unchecked_loss())["loss"]
    assert bare[1] < 0  # the bare formula, named so
    with pytest.raises(UsageError, match="on_invalid"):
        vecloss.loss(on_invalid="skip")  # type: ignore[arg-type]


def test_a_clean_frame_gets_the_same_losses_from_the_expression_and_the_function() -> None:
    from tests.conftest import portfolio

    frame = portfolio(10_000, seed=3)
    assert frame.with_columns(vecloss.loss())["loss"].equals(vecloss.losses(frame)["loss"])
