"""The acceptance property of the second hardening pass: for random dirty inputs, the rows
written, the rejects (rows and reasons), the total and the failure report are the same for
every batch size and for the Dask executor (whose parts are checked apart, on other workers).

The inputs hold what real files hold: repeated and missing ids, text where numbers belong,
negative and out-of-range values, infinities and NaN, a loss too large for float64; spread
over one to three Parquet files of small row groups, so that Dask splits them into many parts.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecloss
from vecloss.exceptions import ValidationError

distributed = pytest.importorskip("distributed")

NUMBERS = ("floor_area", "construction_cost", "hazard_probability", "inflation_rate")
GOOD = {"floor_area": "1500", "construction_cost": "1200", "hazard_probability": "0.05",
        "inflation_rate": "0.02"}  # fmt: skip
ODD = st.sampled_from([None, "", "abc", "-1", "2", "inf", "NaN", "1e308", " 0.5 ", "0"])


@st.composite
def dirty_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(1, 24))):
        row: dict[str, Any] = {"buildingId": draw(st.one_of(st.none(), st.integers(0, 9)))}
        for name in NUMBERS:
            row[name] = draw(ODD) if draw(st.integers(0, 5)) == 0 else GOOD[name]
        rows.append(row)
    return rows


def _outcome(folder: Path, tag: str, **options: Any) -> tuple[Any, ...]:
    """What a skip-mode run writes and rejects, and what a fail-mode run reports."""
    out, rejects = folder / f"{tag}.parquet", folder / f"{tag}-rejects.csv"
    summary = vecloss.run(folder / "in", out, on_invalid="skip", rejects=rejects, **options)
    written = pl.read_parquet(out)
    rejected = pl.read_csv(rejects, infer_schema=False).select("row", "reason")
    try:
        vecloss.run(folder / "in", **options)
        report: tuple[Any, ...] = ("no problems",)
    except ValidationError as exc:
        report = (str(exc), exc.failures.rows())
    return (
        written.rows(),
        rejected.rows(),
        summary.rows,
        summary.rejected,
        summary.total_loss,
        report,
    )


@pytest.mark.filterwarnings("ignore::vecloss.PercentageWarning")  # "2" as an inflation rate
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=dirty_rows(), cuts=st.lists(st.integers(0, 24), max_size=2), group=st.integers(1, 4))
def test_every_batch_size_and_dask_give_the_same_rows_rejects_total_and_report(
    tmp_path_factory: pytest.TempPathFactory,
    client: object,
    rows: list[dict[str, Any]],
    cuts: list[int],
    group: int,
) -> None:
    folder = tmp_path_factory.mktemp("same")
    (folder / "in").mkdir()
    frame = pl.DataFrame(rows, schema={"buildingId": pl.Int64, **dict.fromkeys(NUMBERS, pl.String)})
    edges = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        frame.slice(lo, hi - lo).write_parquet(folder / "in" / f"{k}.parquet", row_group_size=group)
    first = _outcome(folder, "whole", batch_rows=1000)
    assert first[2] + first[3] == len(rows)  # rows in = rows written + rows rejected
    for batch_rows in (1, 2, 5):
        assert _outcome(folder, f"b{batch_rows}", batch_rows=batch_rows) == first
    on_dask = _outcome(folder, "dask", engine="dask", scheduler=client, batch_rows=2)
    assert on_dask == first


@pytest.mark.filterwarnings("ignore:.*rows set aside")
def test_risk_on_dask_rejects_ids_repeated_across_parts_as_one_process_does(
    tmp_path: Path, client: object
) -> None:
    from tests.conftest import EXAMPLE

    frame = vecloss.read(EXAMPLE)
    (tmp_path / "in").mkdir()
    frame.write_parquet(tmp_path / "in" / "a.parquet")
    frame.head(2).write_parquet(tmp_path / "in" / "b.parquet")  # ids 1 and 2 again
    outcomes = []
    for options in ({}, {"engine": "dask", "scheduler": client}):
        with pytest.raises(ValidationError, match="duplicate_id, 2 rows") as caught:
            vecloss.risk(tmp_path / "in", periods=1000, **options)
        outcomes.append(caught.value.failures.rows())
        result = vecloss.risk(
            tmp_path / "in",
            periods=1000,
            on_invalid="skip",
            rejects=tmp_path / f"r{len(outcomes)}.csv",
            **options,
        )
        outcomes.append((result.rows, result.rejected, result.aal.rows()))
    assert outcomes[:2] == outcomes[2:]
