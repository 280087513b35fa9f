"""The Python API: read, losses (Polars, Arrow, pandas in), run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import vecloss
from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, assert_close, assert_matches_reference, portfolio
from vecloss import (
    InputError,
    UsageError,
    ValidationError,
    VeclossError,
    formulas,
    losses,
    read,
    run,
)


def test_read_validates_and_casts() -> None:
    frame = read(EXAMPLE)
    assert frame.schema["buildingId"] == pl.Int64
    assert all(frame.schema[c] == pl.Float64 for c in frame.columns[1:])


@pytest.mark.parametrize("kind", ["polars", "arrow", "pandas"])
@pytest.mark.parametrize("formula", formulas.names())
def test_losses_accepts_each_frame_kind_and_leaves_it_alone(kind: str, formula: str) -> None:
    frame = portfolio(2000, seed=4).with_columns(region=pl.lit("EU"))
    data = {"polars": frame, "arrow": frame.to_arrow(), "pandas": frame.to_pandas()}[kind]
    before = frame.clone()
    out = losses(data, formula=formula, years=30, discount_rate=0.03)
    back = pl.DataFrame(pl.from_arrow(out)) if kind == "arrow" else out
    if kind == "pandas":
        assert isinstance(out, pd.DataFrame)
        assert "loss" not in data.columns
        back = pl.from_pandas(out)
    assert isinstance(back, pl.DataFrame)
    assert back.columns == [*frame.columns, "loss"]
    assert back["loss"].dtype == pl.Float64
    assert_matches_reference(frame, back["loss"], formula=formula, years=30, discount_rate=0.03)
    assert frame.equals(before)


def test_losses_rejects_other_types() -> None:
    with pytest.raises(UsageError, match="takes a Polars DataFrame"):
        losses("portfolio")


def test_records_as_json_load_gives_them_are_told_how_to_make_a_frame() -> None:
    records = vecloss.portfolio(3, seed=1).to_dicts()  # as json.load(open("data.json")) gives
    for data in (records, pl.DataFrame(records).to_dict(as_series=False)):
        with pytest.raises(UsageError, match=r"hint: make a frame of it first, run\(pl.DataFrame"):
            vecloss.run(data)  # type: ignore[arg-type]
        with pytest.raises(UsageError, match=r"losses\(pl.DataFrame\(data\)\), or read"):
            losses(data)  # type: ignore[arg-type]
        assert vecloss.run(pl.DataFrame(data)).rows == 3  # (the hint's way runs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"years": -1}, "years must be an integer >= 0"),
        ({"years": 2.5}, "years must be an integer"),
        ({"discount_rate": -1.0}, "discount rate must be finite and > -1"),
        ({"formula": "quadratic"}, "unknown formula"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        losses(read(EXAMPLE), **kwargs)  # type: ignore[arg-type]


def test_overflow_is_an_error_not_an_inf() -> None:
    frame = read(EXAMPLE).with_columns(
        inflation_rate=pl.when(pl.col("buildingId") == 3)
        .then(500.0)
        .otherwise(pl.col("inflation_rate"))
    )
    with pytest.raises(ValidationError, match=r"loss_overflow.*buildingId 3"):
        losses(frame)


def test_run_writes_output_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "losses.parquet"
    summary = run(EXAMPLE, out)
    assert (summary.rows, summary.rejected) == (5, 0)
    assert_close(summary.total_loss, EXAMPLE_TOTAL)
    written = pl.read_parquet(out)
    assert written.columns == ["buildingId", "loss"]
    assert_matches_reference(read(EXAMPLE), written["loss"])
    json.dumps(summary.to_dict())


def test_errors_share_one_root() -> None:
    assert issubclass(InputError, VeclossError)
    assert issubclass(UsageError, VeclossError)
    assert issubclass(ValidationError, InputError)


def test_run_total_equals_sum_of_written_losses(tmp_path: Path) -> None:
    src = tmp_path / "p.parquet"
    portfolio(300_000, seed=9).write_parquet(src)
    out = tmp_path / "o.parquet"
    summary = run(src, out, batch_rows=70_001)
    written = pl.read_parquet(out)["loss"].to_numpy()
    assert summary.rows == written.size == 300_000
    exact = float(np.sum(np.sort(written)))  # any sane sum is within 1e-12 here
    assert_close(summary.total_loss, exact)


def test_progress_bar_counts_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.parquet"
    portfolio(50_000, seed=1).write_parquet(src)
    run(src, batch_rows=10_000, progress=True)
    err = capsys.readouterr().err
    assert "/50.0k" in err or "50,000 of 50,000 rows" in err  # tqdm, or the text line without it
    assert "rows/s" in err
    run(src, batch_rows=10_000)
    assert capsys.readouterr().err == ""
