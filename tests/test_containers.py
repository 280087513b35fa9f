"""Frames come back as the kind they came in, with their types, in every call (the analyst's
second afternoon, item 2: pyarrow RecordBatches broke on grids and groups, and a Table or
RecordBatch with a ``loss`` column came back with two)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import vecloss
from tests.conftest import EXAMPLE


@pytest.fixture
def batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(vecloss.read(EXAMPLE).to_dicts())


@pytest.mark.parametrize("kind", ["batch", "table"])
@pytest.mark.parametrize(
    ("options", "rows"),
    [
        ({"years": [10, 30]}, 10),
        ({"by": "buildingId"}, 5),
        ({"years": [10, 30], "by": "buildingId"}, 10),
    ],
)
def test_pyarrow_grids_and_groups_come_back_as_they_came(
    batch: pa.RecordBatch, kind: str, options: dict[str, object], rows: int
) -> None:
    data = batch if kind == "batch" else pa.Table.from_batches([batch])
    result = vecloss.losses(data, **options)  # type: ignore[arg-type]
    assert type(result) is type(data)
    assert result.num_rows == rows
    empty = vecloss.losses(data.slice(0, 0), **options)  # type: ignore[arg-type]
    assert type(empty) is type(data)
    assert empty.num_rows == 0


@pytest.mark.parametrize("kind", ["batch", "table"])
def test_a_loss_column_is_replaced_not_doubled(batch: pa.RecordBatch, kind: str) -> None:
    data = batch if kind == "batch" else pa.Table.from_batches([batch])
    once = vecloss.losses(data)
    twice = vecloss.losses(once)  # re-running a notebook cell
    assert twice.schema.names == [*data.schema.names, "loss"]
    assert twice.column("loss").equals(once.column("loss"))
