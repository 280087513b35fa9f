"""Interactive use: dirty data from Python, results in a notebook, grids, frames that
come back as they went in, unit guard rails, a command line that pipes."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import vecloss
from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, assert_close, portfolio
from vecloss.cli import main
from vecloss.cli.options import build_parser


@pytest.fixture
def dirty() -> pl.DataFrame:
    """The example with three bad rows: p of 2, a null p, a negative p."""
    return vecloss.read(EXAMPLE).with_columns(
        hazard_probability=pl.Series([0.1, 2.0, None, 0.2, -1.0])
    )


# -- dirty data from Python ------------------------------------------------------------------


def test_validate_is_a_function_returning_frames(dirty: pl.DataFrame) -> None:
    report = vecloss.validate(dirty)
    assert not report.valid
    assert report.failures.columns == ["reason", "column", "count", "examples", "hint"]
    assert report.failures.schema["examples"] == pl.List(pl.String)
    out_of_range = report.failures.filter(pl.col("reason") == "out_of_range").row(0, named=True)
    assert out_of_range["count"] == 2
    assert out_of_range["examples"] == ["buildingId 2 (2.0)", "buildingId 5 (-1.0)"]
    assert report.rejected["row"].to_list() == [2, 3, 5]
    assert report.rejected["reason"].to_list()[1] == "hazard_probability: null"
    assert vecloss.validate(str(EXAMPLE)).valid


def test_validate_a_file_lists_every_bad_row(tmp_path: Path, dirty: pl.DataFrame) -> None:
    path = tmp_path / "dirty.parquet"
    dirty.write_parquet(path)
    report = vecloss.validate(str(path))
    assert (report.rows, report.rejected.height) == (5, 3)
    assert "3 of 5 rows break the schema" in repr(report)


def test_losses_skip_returns_the_good_rows_and_warns(dirty: pl.DataFrame) -> None:
    with pytest.warns(UserWarning, match="3 rows set aside"):
        good = vecloss.losses(dirty, on_invalid="skip")
    assert good["buildingId"].to_list() == [1, 4]
    with pytest.raises(vecloss.ValidationError) as info:
        vecloss.losses(dirty)
    assert "on_invalid='skip'" in str(info.value)  # a Python hint, not only CLI flags
    assert info.value.failures["examples"].to_list()[0] == [
        "buildingId 2 (2.0)",
        "buildingId 5 (-1.0)",
    ]


def test_run_skip_without_a_rejects_file_holds_the_rows(
    tmp_path: Path, dirty: pl.DataFrame
) -> None:
    path = tmp_path / "dirty.csv"
    dirty.write_csv(path)
    summary = vecloss.run(str(path), on_invalid="skip")
    assert summary.rows + summary.rejected == 5
    assert summary.rejected_rows is not None
    assert summary.rejected_rows["row"].to_list() == [2, 3, 5]
    assert "reason" in summary.rejected_rows.columns


# -- results in a notebook -------------------------------------------------------------------


def test_summary_is_short_with_frames_and_html(tmp_path: Path) -> None:
    frame = portfolio(2_000, seed=1).with_columns(region=pl.col("buildingId") % 3)
    summary = vecloss.run(frame, by="region", preview_rows=20, top=5)
    assert len(repr(summary)) < 300
    assert isinstance(summary.totals, pl.DataFrame)
    assert isinstance(summary.groups, pl.DataFrame)
    assert sorted(summary.groups["region"].to_list()) == [0, 1, 2]
    page = summary._repr_html_()
    assert page.count("<table") == 3  # groups, the largest losses, the first rows
    assert summary.top is not None
    assert summary.top["loss"].to_list() == sorted(summary.top["loss"].to_list(), reverse=True)
    expected = vecloss.losses(frame).sort("loss", descending=True).head(5)
    assert summary.top["buildingId"].to_list() == expected["buildingId"].to_list()


def test_grid_totals_come_as_a_matrix_without_the_long_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = portfolio(3_000, seed=2)
    worker = importlib.import_module("vecloss.run.worker")

    def no_long_table(*_: object, **__: object) -> None:
        raise AssertionError("the long table was built")

    monkeypatch.setattr(worker, "loss_table", no_long_table)
    summary = vecloss.run(frame, years=[5, 10, 30], discount_rate=[0.03, 0.05])
    assert summary.matrix.columns == ["years", "0.03", "0.05"]
    assert summary.matrix["years"].to_list() == [5, 10, 30]
    single = vecloss.run(frame, years=10, discount_rate=0.05)
    assert summary.matrix.filter(pl.col("years") == 10)["0.05"][0] == single.total_loss
    assert "0.03" in repr(summary)


def test_grid_memory_stays_near_a_single_scenario(tmp_path: Path) -> None:
    """A 5x5 grid's totals on 1M buildings: peak RSS of a fresh process within ~2x a single
    scenario's (each run in its own process; ru_maxrss of that process)."""
    path = tmp_path / "big.parquet"
    portfolio(1_000_000, seed=3).write_parquet(path)
    grid = "years=[5, 10, 20, 30, 50], discount_rate=[0.01, 0.03, 0.05, 0.07, 0.1]"

    def peak_kib(options: str) -> int:
        code = (
            "import resource, vecloss; "
            f"vecloss.run({str(path)!r}, {options}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return int(done.stdout.split()[-1])

    single = peak_kib("")
    assert peak_kib(grid) <= 2 * single


def test_progress_bars_end_finished(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    frame = portfolio(1_500_000, seed=4)
    vecloss.run(frame, progress=True)
    assert "100%" in capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert vecloss.losses(frame, progress=True).equals(vecloss.losses(frame))
    assert "100%" in capsys.readouterr().err.rsplit("\r", 1)[-1]


# -- frames come back as they went in --------------------------------------------------------


def test_pyarrow_types_and_containers_round_trip() -> None:
    table = vecloss.read(EXAMPLE).to_arrow()
    table = table.set_column(0, "buildingId", pa.array([f"b{i}" for i in range(5)], pa.string()))
    out = vecloss.losses(table)
    assert isinstance(out, pa.Table)
    assert out.schema.field("buildingId").type == pa.string()  # not large_string
    assert out.column_names[-1] == "loss"
    batch = table.to_batches()[0]
    out_batch = vecloss.losses(batch)
    assert isinstance(out_batch, pa.RecordBatch)
    assert out_batch.schema.field("buildingId").type == pa.string()


def test_pandas_keeps_index_and_arrow_dtypes_and_reads_a_named_index() -> None:
    frame = vecloss.read(EXAMPLE).to_pandas(types_mapper=pd.ArrowDtype)
    frame.index = pd.Index([101, 102, 103, 104, 105])
    out = vecloss.losses(frame)
    assert out.index.tolist() == [101, 102, 103, 104, 105]
    assert str(out["floor_area"].dtype) == "double[pyarrow]"
    by_index = vecloss.read(EXAMPLE).to_pandas().set_index("buildingId")
    out = vecloss.losses(by_index)
    assert out.index.name == "buildingId"
    assert_close(float(out["loss"].sum()), EXAMPLE_TOTAL)


def test_numbers_stored_as_strings_in_a_frame_are_not_numeric() -> None:
    frame = vecloss.read(EXAMPLE).with_columns(pl.col("floor_area").cast(pl.String))
    with pytest.raises(vecloss.ValidationError, match="floor_area: not_numeric, 5 rows"):
        vecloss.losses(frame)
    report = vecloss.validate(frame)
    assert report.failures["reason"].to_list() == ["not_numeric"]


# -- guard rails -----------------------------------------------------------------------------


def test_rates_that_look_like_percentages_warn(tmp_path: Path) -> None:
    frame = vecloss.read(EXAMPLE)
    with pytest.warns(vecloss.PercentageWarning, match="discount_rate 5 is above 1"):
        vecloss.losses(frame, discount_rate=5)
    with pytest.warns(vecloss.PercentageWarning, match="2 inflation_rate values are above 1"):
        vecloss.losses(frame.with_columns(inflation_rate=pl.Series([3.0, 2.0, 0.1, 0.1, 0.1])))
    path = tmp_path / "p.parquet"
    frame.with_columns(inflation_rate=pl.lit(4.0)).write_parquet(path)
    with pytest.warns(vecloss.PercentageWarning, match="5 inflation_rate values"):
        vecloss.run(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vecloss.losses(frame, discount_rate=0.05)  # fractions: no warning


def test_units_are_stated_once_in_the_readme_and_the_generator_agrees() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "currency, the whole building (used as given: not multiplied by `floor_area`)" in readme
    assert "the horizon T only the\ndiscount" in readme
    from vecloss import synthetic

    doc = " ".join((synthetic.__doc__ or "").split())
    assert "the whole building's cost, as the formulas take it" in doc


# -- a command line that pipes ---------------------------------------------------------------


def _vecloss(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vecloss", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json", "parquet"])
def test_output_to_stdout_pipes(fmt: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vecloss", "run", str(EXAMPLE), "-o", "-", "--format", fmt],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import io

    reader = {
        "csv": pl.read_csv,
        "ndjson": pl.read_ndjson,
        "json": pl.read_json,
        "parquet": pl.read_parquet,
    }[fmt]
    data = reader(io.BytesIO(done.stdout))
    assert_close(data["loss"].sum(), EXAMPLE_TOTAL)
    assert b"wrote 5 losses to standard output" in done.stderr


def test_the_readme_pipe_prints_the_total() -> None:
    command = (
        f"{sys.executable} -m vecloss run {EXAMPLE} -o - --format csv | {sys.executable} -c "
        '"import sys, pandas; print(pandas.read_csv(sys.stdin).loss.sum())"'
    )
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert_close(float(done.stdout), EXAMPLE_TOTAL)
    plain = _vecloss("run", str(EXAMPLE), "-o", "-")  # CSV, as csvkit and DuckDB default to
    assert plain.returncode == 0
    assert plain.stdout.splitlines()[0] == "buildingId,loss"


def test_top_and_a_readable_preview(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    portfolio(50_000, seed=5).write_parquet(path)
    done = _vecloss("run", str(path), "--top", "10")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("largest 10 losses:")
    shown = [float(line.split()[-1].replace(",", "")) for line in lines[at + 2 : at + 12]]
    expected = vecloss.losses(pl.read_parquet(path)).sort("loss", descending=True).head(10)
    assert shown == [round(v, 2) for v in expected["loss"].to_list()]
    assert any("," in line.split()[-1] for line in lines[at + 2 : at + 12])  # separators
    total = next(line for line in lines if line.startswith("total loss:"))
    assert total.split()[2].count(".") == 1
    assert len(total.split()[2].split(".")[1]) == 2  # two decimals


def test_grid_without_output_shows_the_matrix_and_rows() -> None:
    done = _vecloss("run", str(EXAMPLE), "--years", "10,30", "--discount-rate", "0.03,0.05")
    assert done.returncode == 0
    assert "years    0.03    0.05" in done.stdout
    assert "first rows of the long table (20 rows):" in done.stdout


def test_every_option_has_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"vecloss {name} {action.option_strings or action.dest}"
    help_text = _vecloss("run", "--help").stdout
    assert "a list like 10,30" in help_text
    assert "polars: the formula as a Polars expression" in _vecloss("bench", "--help").stdout


def test_readme_puts_install_and_python_first() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    install, python = readme.index("## Install"), readme.index("## In Python")
    assert install < python < readme.index("## Command line") < readme.index("## Layout")
    assert "pip install ." in readme[install:python]


def test_cli_json_lists_the_examples(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "dirty.json"
    frame = vecloss.read(EXAMPLE).with_columns(hazard_probability=pl.lit(3.0))
    path.write_text(json.dumps(frame.to_dicts()))
    assert main(["validate", str(path), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems[0]["examples"][:2] == ["buildingId 1 (3.0)", "buildingId 2 (3.0)"]


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    portfolio(200_000, seed=8).write_parquet(path)
    command = f"{sys.executable} -m vecloss run {path} -o - --format csv | head -n 2"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert done.stdout.splitlines()[0] == "buildingId,loss"
    assert "error" not in done.stderr
