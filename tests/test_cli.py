"""The command line: outputs, summaries, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, assert_close, assert_matches_reference
from vecloss import formulas, read
from vecloss.cli import main


def vecloss(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "vecloss", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_run_prints_table_and_total() -> None:
    done = vecloss("run", EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert "total loss: 517.80  (5 buildings" in done.stdout
    assert (
        len([line for line in done.stdout.splitlines() if line.strip().startswith(("1 ", "5 "))])
        == 2
    )
    assert done.stderr == ""


def test_run_json_summary_is_the_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLE), "--json", "--years", "30", "--discount-rate", "0.03"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in (
        "rows",
        "rejected",
        "total_loss",
        "formula",
        "years",
        "discount_rate",
        "engine",
        "seconds",
    ):
        assert key in summary
    assert (summary["rows"], summary["rejected"], summary["years"]) == (5, 0, 30)
    assert summary["discount_rate"] == 0.03


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson", ".json", ".arrow"])
@pytest.mark.parametrize("formula", formulas.names())
def test_run_writes_each_output_format(
    tmp_path: Path, suffix: str, formula: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"losses{suffix}"
    assert main(["run", str(EXAMPLE), "-o", str(out), "--formula", formula, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    written = pl.DataFrame(read_any(out))
    assert written.columns == ["buildingId", "loss"]
    assert_matches_reference(read(EXAMPLE), written["loss"], formula=formula)
    if formula == "complex":
        assert_close(summary["total_loss"], EXAMPLE_TOTAL)
    assert list(tmp_path.iterdir()) == [out], "no temporary file is left behind"


def read_any(path: Path) -> pl.DataFrame:
    from vecloss.io.source import read_source

    return read_source(path)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "missing.json"], 1, "missing.json: no such file"),
        (["run", "portfolio.xlsx"], 1, "unsupported suffix '.xlsx'; hint: save the sheet as CSV"),
        (["run", "portfolio.csv.gz"], 1, "decompress it first (gunzip -k portfolio.csv.gz)"),
        (["validate", "portfolio.json.zst"], 1, "decompress it first (unzstd portfolio.json.zst)"),
        (["run", "portfolio.zip"], 1, "unzip it first"),
        (["run", "portfolio.txt"], 1, "hint: use one of .json, .ndjson"),
        (["run", "portfolio.db"], 1, "by its URI: sqlite:///portfolio.db --table NAME"),
        (["risk", "p.sqlite3", "--table", "t"], 2, "hint: vecloss run, validate and risk read"),
        (["run", "{example}", "-o", "out.sqlite"], 2, "-o sqlite:///out.sqlite --output-table"),
        (["run", "{example}", "--years", "-3"], 2, "years must be an integer >= 0"),
        (["run", "{example}", "--years", "ten"], 2, "years must be an integer"),
        (["run", "{example}", "--discount-rate", "-1"], 2, "discount rate must be finite and > -1"),
        (["run", "{example}", "-o", "out.xlsx"], 2, "'.xlsx'; hint: write one of .json"),
        (["run", "{example}", "-o", "out.csv.gz"], 2, "'.gz'; hint: write one of .json"),
        (["run", "{example}", "--on-invalid", "skip"], 2, "skip mode needs a rejects file"),
        (["run", "{bad_json}"], 1, "cannot read JSON"),
        (["run", "{empty}"], 1, "empty file"),
        (["run"], 2, "required: INPUT"),
    ],
)
def test_errors_are_one_clear_line(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    bad_json = tmp_path / "truncated.json"
    bad_json.write_text('[{"buildingId": 1, "floor_area": ')
    empty = tmp_path / "empty.json"
    empty.write_text("")
    names = {"example": str(EXAMPLE), "bad_json": str(bad_json), "empty": str(empty)}
    done = vecloss(*(a.format(**names) for a in args))
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_verbose_shows_the_traceback() -> None:
    done = vecloss("run", "missing.json", "--verbose")
    assert done.returncode == 1
    assert "Traceback" in done.stderr


def test_failed_run_leaves_existing_output_intact(tmp_path: Path) -> None:
    out = tmp_path / "losses.csv"
    out.write_text("precious\n")
    bad = tmp_path / "bad.json"
    bad.write_text(
        '[{"buildingId": 1, "floor_area": -5, "construction_cost": 1, '
        '"hazard_probability": 0.1, "inflation_rate": 0.01}]'
    )
    done = vecloss("run", bad, "-o", out)
    assert done.returncode == 1
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "losses.csv"]


def test_generate_then_run_and_convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parquet = tmp_path / "p.parquet"
    assert main(["generate", "2500", "-o", str(parquet), "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert said == f"wrote 2,500 buildings to {parquet} (seed 3, string ids in no order)\n"
    csv = tmp_path / "p.csv"
    assert main(["convert", str(parquet), str(csv)]) == 0
    capsys.readouterr()
    totals = []
    for path in (parquet, csv):
        assert main(["run", str(path), "--json", "--batch-rows", "1000"]) == 0
        totals.append(json.loads(capsys.readouterr().out.splitlines()[-1])["total_loss"])
    assert totals[0] == totals[1]


def test_big_input_shows_the_first_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parquet = tmp_path / "p.parquet"
    main(["generate", "1000", "-o", str(parquet)])
    capsys.readouterr()
    assert main(["run", str(parquet)]) == 0
    out = capsys.readouterr().out
    assert "showing 20 of 1,000 buildings" in out


def test_validate_clean_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "5 rows, no problems" in capsys.readouterr().out


def test_counts_of_one_are_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.csv"
    read(EXAMPLE).head(2).with_columns(
        pl.Series("hazard_probability", [0.01, 7.0])  # (the second row set aside)
    ).write_csv(one)
    args = ["run", str(one), "--on-invalid", "skip", "--rejects", str(tmp_path / "r.csv")]
    assert main([*args, "-o", str(tmp_path / "out.csv")]) == 0
    out = capsys.readouterr().out
    assert "wrote 1 loss to" in out
    assert "total loss 7.82; 1 row rejected, written to" in out  # (said with -o too)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(1 building, complex formula" in out
    assert "rejected: 1 row, written to" in out
