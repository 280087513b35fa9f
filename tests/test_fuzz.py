"""Random bytes, random JSON and random CSV: either a clear error that names the file, or a
run whose rows add up (rows in = rows written + rows rejected) to a finite total."""

from __future__ import annotations

import json
import math
import string
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecloss import VeclossError, run
from vecloss.io.formats import SUFFIXES
from vecloss.io.source import read_source

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
T = TypeVar("T")
COLUMNS = [
    "buildingId",
    "floor_area",
    "construction_cost",
    "hazard_probability",
    "inflation_rate",
    "region",
]


def attempt(action: Callable[[], T]) -> tuple[T | None, str | None]:
    """``action()``'s result, or the message of the VeclossError it raised (any other
    exception escapes)."""
    try:
        return action(), None
    except VeclossError as exc:
        return None, str(exc)


def survives(path: Path) -> None:
    """Reading and running may fail, but only with a VeclossError that names the file; a run
    in skip mode that succeeds accounts for every row the reader sees, with a finite total."""
    frame, error = attempt(lambda: read_source(path))
    assert error is None or path.name in error, error
    with warnings.catch_warnings():  # (skip mode warns with the count set aside)
        warnings.simplefilter("ignore")
        summary, error = attempt(lambda: run(path, on_invalid="skip"))
    if summary is None:
        assert error is not None
        assert path.name in error, error
        return
    assert math.isfinite(summary.total_loss)
    if frame is not None:
        assert summary.rows + summary.rejected == frame.height


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(sorted(SUFFIXES)))
def test_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"in{suffix}"
    path.write_bytes(data)
    survives(path)


scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
records = st.dictionaries(st.sampled_from(COLUMNS), json_values | scalars, max_size=6)


@FUZZ
@given(doc=st.lists(records, max_size=6) | json_values, lines=st.booleans())
def test_random_json(tmp_path_factory: pytest.TempPathFactory, doc: object, lines: bool) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    if lines and isinstance(doc, list):
        path = folder / "in.ndjson"
        path.write_text("\n".join(json.dumps(item) for item in doc))
    else:
        path = folder / "in.json"
        path.write_text(json.dumps(doc))
    survives(path)


cells = st.text(alphabet=string.printable, max_size=6) | st.sampled_from(
    ["", "NaN", "inf", "-1", "1e999", '"', "1,5"]
)


@FUZZ
@given(
    header=st.lists(st.sampled_from(COLUMNS) | st.text(max_size=4), max_size=7),
    rows=st.lists(st.lists(cells, max_size=7), max_size=6),
)
def test_random_csv(
    tmp_path_factory: pytest.TempPathFactory, header: list[str], rows: list[list[str]]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "in.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]))
    survives(path)


@FUZZ
@given(rows=st.lists(st.lists(cells, min_size=6, max_size=6), min_size=1, max_size=8))
def test_random_cells_under_the_schemas_header(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "in.csv"
    lines = [",".join(COLUMNS), *(",".join(f'"{c}"' if "," in c else c for c in r) for r in rows)]
    path.write_text("\n".join(lines))
    survives(path)
