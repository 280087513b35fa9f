"""Random bytes, random JSON and random CSV: the only exception that escapes is VeclossError."""

from __future__ import annotations

import contextlib
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecloss import VeclossError, run
from vecloss.io.formats import SUFFIXES
from vecloss.io.source import read_source

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
COLUMNS = [
    "buildingId",
    "floor_area",
    "construction_cost",
    "hazard_probability",
    "inflation_rate",
    "region",
]


def survives(path: Path) -> None:
    """Reading and running may fail, but only with a VeclossError."""
    for action in (lambda: read_source(path), lambda: run(path)):
        with contextlib.suppress(VeclossError):
            action()


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
