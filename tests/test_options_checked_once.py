"""One scenario rule everywhere,
parameters checked before any I/O, one runner for every output and executor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecloss
from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, assert_close, portfolio
from vecloss import PercentageWarning, UsageError, formulas
from vecloss.cli import main
from vecloss.scenario import Scenario


@pytest.fixture
def regional(tmp_path: Path) -> Path:
    frame = portfolio(300, seed=3).with_columns(
        region=pl.Series(["EU", "US", "APAC"] * 100),
    )
    path = tmp_path / "regional.csv"
    frame.write_csv(path)
    return path


@pytest.mark.parametrize(
    "extra", [["--keep", "region"], ["--group-by", "region"], ["--keep", "region,floor_area"]]
)
def test_cli_preview_with_carried_columns(
    regional: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(regional), *extra]) == 0
    out = capsys.readouterr().out
    assert "total loss:" in out
    assert "buildingId" in out.splitlines()[0]
    if extra[0] == "--keep":
        assert "region" in out.splitlines()[0]


@pytest.mark.parametrize("formula", formulas.names())
@pytest.mark.parametrize("years", [[], (), range(0), np.array([], dtype=int)])
def test_an_empty_grid_is_a_usage_error(formula: str, years: object) -> None:
    frame = vecloss.read(EXAMPLE)
    with pytest.raises(UsageError, match="at least one value for years"):
        vecloss.losses(frame, formula=formula, years=years)  # type: ignore[arg-type]


def test_a_wrong_formula_name_is_checked_on_every_path(tmp_path: Path) -> None:
    frame = vecloss.read(EXAMPLE)
    for call in (
        lambda: vecloss.losses(frame, formula="compex"),  # type: ignore[arg-type]
        lambda: vecloss.losses(frame, formula="compex", years=[10, 20]),  # type: ignore[arg-type]
        lambda: vecloss.run(EXAMPLE, tmp_path / "o.csv", formula="compex"),  # type: ignore[arg-type]
        lambda: vecloss.loss(formula="compex"),  # type: ignore[arg-type]
    ):
        with pytest.raises(UsageError, match="unknown formula 'compex'"):
            call()
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("years", "rate"),
    [(np.int64(10), 0.05), (10, np.float32(0.05)), (np.int32(10), np.float64(0.05)), (10, 0)],
)
def test_numpy_scalars_are_one_scenario(years: object, rate: object, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    summary = vecloss.run(EXAMPLE, out, years=years, discount_rate=rate)  # type: ignore[arg-type]
    assert summary.total_loss is not None
    assert json.dumps(summary.to_dict())  # plain values only
    assert pl.read_parquet(out).columns == ["buildingId", "loss"]
    expected = vecloss.losses(vecloss.read(EXAMPLE), years=int(years), discount_rate=float(rate))  # type: ignore[call-overload]
    assert_close(summary.total_loss, float(expected["loss"].sum()))


@pytest.mark.parametrize(
    "bad",
    [
        {"years": -1},
        {"years": 2.5},
        {"years": "10"},
        {"years": True},
        {"discount_rate": -1},
        {"discount_rate": float("nan")},
        {"discount_rate": "0.05"},
        {"years": [10, 10]},
        {"years": 10**30},
        {"workers": -1},
        {"workers": 0},
        {"batch_rows": 0},
        {"keep": "region"},
        {"engine": "gpu"},
        {"on_invalid": "ignore"},
    ],
)
def test_run_checks_every_parameter_before_any_output(
    bad: dict[str, object], tmp_path: Path
) -> None:
    out, rejects = tmp_path / "o.parquet", tmp_path / "r.csv"
    with pytest.raises(UsageError):
        vecloss.run(EXAMPLE, out, rejects=rejects, **bad)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("years", [(10,), [10], range(10, 11), np.array([10]), (y for y in [10])])
def test_any_sequence_is_a_grid_in_every_api(years: object, tmp_path: Path) -> None:
    frame = vecloss.read(EXAMPLE)
    materialised = (
        list(years) if not hasattr(years, "__len__") else years
    )  # a generator is used once
    table = vecloss.losses(frame, years=materialised)  # type: ignore[arg-type]
    assert table.columns == ["buildingId", "years", "discount_rate", "loss"]
    summary = vecloss.run(EXAMPLE, tmp_path / "g.csv", years=materialised)  # type: ignore[arg-type]
    assert summary.total_loss is None
    assert summary.years == [10]
    assert_close(summary.totals["total_loss"][0], EXAMPLE_TOTAL)
    assert pl.read_csv(tmp_path / "g.csv").columns == table.columns


def test_ranges_and_arrays_make_the_same_grid() -> None:
    frame = vecloss.read(EXAMPLE)
    want = vecloss.losses(frame, years=[10, 20, 30], discount_rate=[0.03, 0.05])
    for years in (range(10, 31, 10), np.array([10, 20, 30]), (10, 20, 30)):
        got = vecloss.losses(frame, years=years, discount_rate=np.array([0.03, 0.05]))
        assert got.equals(want)


def test_the_lazy_namespace_and_the_expression_take_grids() -> None:
    frame = vecloss.read(EXAMPLE)
    eager = frame.vecloss.losses(years=[10, 30])
    lazy = frame.lazy().vecloss.losses(years=[10, 30]).collect()
    assert lazy.equals(eager)
    spread = frame.select(vecloss.loss(years=[10, 30])).unnest("loss")
    assert spread.columns == ["loss_10_0.05", "loss_30_0.05"]
    for (years, _), column in zip(
        Scenario.parse(years=[10, 30]).pairs, spread.columns, strict=True
    ):
        single = vecloss.losses(frame, years=years)["loss"]
        np.testing.assert_array_equal(spread[column].to_numpy(), single.to_numpy())


def test_folder_output_with_skip_rejects_a_repeated_id_on_the_default_engine(
    tmp_path: Path,
) -> None:
    frame = portfolio(1000, seed=2)
    frame = frame.with_columns(
        buildingId=pl.when(pl.col("buildingId") == 700).then(5).otherwise(pl.col("buildingId"))
    )
    src = tmp_path / "in"
    src.mkdir()
    frame.slice(0, 500).write_parquet(src / "a.parquet")
    frame.slice(500).write_parquet(src / "b.parquet")
    summary = vecloss.run(
        src, f"{tmp_path}/out/", on_invalid="skip", rejects=tmp_path / "rejects.csv"
    )
    assert (summary.rows, summary.rejected) == (999, 1)
    rejected = pl.read_csv(tmp_path / "rejects.csv")
    assert rejected["row"].to_list() == [700]
    assert "duplicate_id" in rejected["reason"][0]
    assert pl.read_parquet(tmp_path / "out").height == 999


def test_losses_refuses_the_dask_engine_clearly() -> None:
    with pytest.raises(UsageError, match=r"vecloss.run\(path, engine='dask'\)"):
        vecloss.losses(vecloss.read(EXAMPLE), engine="dask")


def test_losses_on_a_lazy_frame_says_what_to_do() -> None:
    lazy = vecloss.read(EXAMPLE).lazy()
    with pytest.raises(UsageError, match=r"LazyFrame.*lf.vecloss.losses.*collect"):
        vecloss.losses(lazy)


def test_a_pandas_index_comes_back() -> None:
    pd = pytest.importorskip("pandas")
    frame = vecloss.read(EXAMPLE).to_pandas()
    frame.index = pd.Index([101, 102, 103, 104, 105])
    out = vecloss.losses(frame)
    assert list(out.index) == [101, 102, 103, 104, 105]
    frame["loss"] = out["loss"]
    assert frame["loss"].notna().all()


def test_reason_codes_travel_as_data(tmp_path: Path) -> None:
    from vecloss.checks.rules import FAILURES, split_valid
    from vecloss.schema import Reason

    frame = portfolio(5, seed=1).with_columns(floor_area=pl.Series([1.0, -1.0, 2.0, 0.0, 3.0]))
    rejected = split_valid(frame).rejected
    records = rejected[FAILURES].to_list()
    assert records == [[{"column": "floor_area", "code": Reason.OUT_OF_RANGE.code}]] * 2
    assert {r.code for r in Reason} >= {"missing_column", "duplicate_id", "loss_overflow"}


_YEARS = st.integers(0, 2000)
_RATES = st.floats(-0.99, 10.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    years=st.one_of(_YEARS, st.lists(_YEARS, min_size=1, max_size=4, unique=True)),
    rates=st.one_of(_RATES, st.lists(_RATES, min_size=1, max_size=4, unique=True)),
    as_numpy=st.booleans(),
)
def test_scenario_parse_is_one_rule(years: object, rates: object, as_numpy: bool) -> None:
    if as_numpy:
        years, rates = np.asarray(years), np.asarray(rates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PercentageWarning)  # rates above 1 warn (tested apart)
        scenario = Scenario.parse("simple", years, rates)
    ys = [int(y) for y in np.atleast_1d(years)]
    rs = [float(r) for r in np.atleast_1d(rates)]
    assert scenario.pairs == tuple((y, r) for y in ys for r in rs)
    assert scenario.grid == (np.ndim(years) == 1 or np.ndim(rates) == 1)
    assert all(type(y) is int for y in scenario.years)
    assert all(type(r) is float for r in scenario.rates)
    described = scenario.describe()
    assert described["years"] == (ys if np.ndim(years) else ys[0])


def test_outputs_never_replace_inputs_or_foreign_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    src = folder / "in.parquet"
    portfolio(100, seed=1).write_parquet(src)
    (folder / "notes").write_text("x")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for args in (
        ["-o", str(folder)],  # the folder holding the input
        ["-o", str(src)],  # the input itself
        ["-o", str(tmp_path / "o.csv"), "--on-invalid", "skip", "--rejects", str(src)],
        [
            "-o",
            str(tmp_path / "o.csv"),
            "--on-invalid",
            "skip",
            "--rejects",
            str(tmp_path / "o.csv"),
        ],
    ):
        assert main(["run", str(src), *args]) == 2, args
        assert "hint:" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not (tmp_path / "o.csv").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["run", str(src), "-o", f"{other}/"]) == 2
    assert (other / "keep.txt").read_text() == "mine"
    out = f"{tmp_path}/out/"
    assert main(["run", str(src), "-o", out]) == 0
    assert main(["run", str(src), "-o", out]) == 0  # its own part files: replaced
    assert pl.read_parquet(out).height == 100
