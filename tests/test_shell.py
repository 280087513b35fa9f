"""The command line keeps shell habits (the analyst's second afternoon, items 6 and 7): a reader
that stops early ends the run quietly, ``-`` is standard input or output, ``--top N`` shows the
top N, and every help text tells the truth."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import EXAMPLE, generate
from vecloss.cli.options import build_parser

CLI = [sys.executable, "-m", "vecloss"]


def _cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, check=False, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize("extra", [["-o", "-"], ["-o", "-", "--format", "ndjson"]])
def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path: Path, extra: list[str]) -> None:
    source = generate(300_000, tmp_path / "p.parquet", seed=1)
    assert _reader_stops([*CLI, "run", str(source), *extra], after=50) == (0, "")  # head -c 50


def test_standard_output_defaults_to_csv(tmp_path: Path) -> None:
    done = _cli("run", str(EXAMPLE), "-o", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[0] == "buildingId,loss"
    assert b"wrote 5 losses to standard output" in done.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet"])
def test_standard_input_with_its_format(tmp_path: Path, fmt: str) -> None:
    frame = pl.read_json(EXAMPLE)
    path = tmp_path / f"p.{fmt}"
    {"csv": frame.write_csv, "json": frame.write_json, "ndjson": frame.write_ndjson}.get(
        fmt, frame.write_parquet
    )(path)
    done = _cli("run", "-", "--format", fmt, "--json", cwd=tmp_path, stdin=path.read_bytes())
    assert done.returncode == 0, done.stderr
    assert b'"total_loss": 517.80395' in done.stdout
    refused = _cli("run", "-", cwd=tmp_path, stdin=path.read_bytes())
    assert refused.returncode == 2
    assert b"--format csv|ndjson|json|parquet" in refused.stderr


def test_standard_input_is_named_so_never_by_its_staged_copy(tmp_path: Path) -> None:
    frame = pl.read_json(EXAMPLE)
    done = _cli("run", "-", "--format", "json", "--json", cwd=tmp_path, stdin=EXAMPLE.read_bytes())
    assert b'"input": "standard input"' in done.stdout
    percent = frame.with_columns(pl.col("inflation_rate") * 100).write_csv()
    done = _cli("run", "-", "--format", "csv", cwd=tmp_path, stdin=percent.encode())
    assert b"standard input: 5 inflation_rate values are above 1" in done.stderr  # a warning
    bad = frame.with_columns(pl.lit(-1.0).alias("floor_area")).write_csv()
    done = _cli("run", "-", "--format", "csv", cwd=tmp_path, stdin=bad.encode())
    assert done.returncode == 1
    assert done.stderr.startswith(b"vecloss: error: standard input: 5 rows break the schema")
    assert b"vecloss-stdout" not in done.stdout + done.stderr  # (the staging folder's name)


def test_validate_risk_and_convert_read_standard_input_as_run_does(tmp_path: Path) -> None:
    frame = pl.read_json(EXAMPLE)
    csv = frame.write_csv().encode()
    done = _cli("validate", "-", "--format", "csv", cwd=tmp_path, stdin=csv)
    assert (done.returncode, done.stdout) == (0, b"standard input: 5 rows, no problems\n")
    bad = frame.with_columns(pl.lit(-1.0).alias("floor_area")).write_csv().encode()
    done = _cli("validate", "-", "--format", "csv", "--json", cwd=tmp_path, stdin=bad)
    assert done.returncode == 1
    assert b'"input": "standard input", "rows": 5, "valid": false, "rejected": 5' in done.stdout
    args = ["risk", "-", "--format", "csv", "--exact", "--json"]
    done = _cli(*args, cwd=tmp_path, stdin=csv)
    assert done.returncode == 0, done.stderr
    assert b'"input": "standard input"' in done.stdout
    assert done.stdout == _cli(*args[:1], str(EXAMPLE), *args[4:], cwd=tmp_path).stdout.replace(
        str(EXAMPLE).encode(), b"standard input"
    )
    done = _cli("convert", "-", "p.parquet", "--format", "csv", cwd=tmp_path, stdin=csv)
    assert done.returncode == 0, done.stderr
    assert pl.read_parquet(tmp_path / "p.parquet").equals(frame)
    done = _cli("convert", "-", "q.parquet", "--format", "parquet", cwd=tmp_path, stdin=csv)
    assert done.returncode == 1
    assert done.stderr.startswith(b"vecloss: error: standard input: cannot read Parquet")
    for command in (["validate", "-"], ["risk", "-"], ["convert", "-", "r.csv"]):
        refused = _cli(*command, cwd=tmp_path, stdin=csv)
        assert refused.returncode == 2
        assert b"--format csv|ndjson|json|parquet" in refused.stderr
        refused = _cli(*command[:1], str(EXAMPLE), *command[2:], "--format", "csv", cwd=tmp_path)
        assert refused.returncode == 2  # (a file's format is its suffix's: never overridden)
        assert b"--format goes with - (standard input)" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]


def test_risk_writes_its_ep_table_to_standard_output(tmp_path: Path) -> None:
    done = _cli("risk", str(EXAMPLE), "-o", "-", "--aal", "aal.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "ep_type,return_period,loss,low,high"
    assert len(lines) == 1 + 4 * 5  # OEP, OEP TVaR, AEP, AEP TVaR at 5 return periods
    assert b"average annual loss" in done.stderr  # the notes: on standard error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aal.csv"]


def test_top_shows_only_the_top(tmp_path: Path) -> None:
    done = _cli("run", str(EXAMPLE), "--top", "2", cwd=tmp_path)
    out = done.stdout.decode()
    assert out.splitlines()[0] == "largest 2 losses:"
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 2


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_option_of_every_command_has_true_help(command: str) -> None:
    parser = _commands()[command]
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, (command, action.option_strings)
        assert action.help.strip(), (command, action.option_strings)
    text = parser.format_help()
    if command == "risk":  # risk takes one scenario: its help must not promise a grid
        assert "every pair" not in text
    done = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip()


@pytest.mark.parametrize("extra", [[], ["--json"], ["--top", "3"]])
def test_a_reader_gone_before_the_summary_ends_the_run_quietly(
    tmp_path: Path, extra: list[str]
) -> None:
    source = generate(100_000, tmp_path / "p.parquet", seed=1)
    # (a reader gone before anything came: was exit 1, "Broken pipe; hint: check the path")
    assert _reader_stops([*CLI, "run", str(source), *extra], after=0) == (0, "")


def _reader_stops(command: list[str], *, after: int) -> tuple[int, str]:
    """Run ``command``, read ``after`` bytes of its output and close the pipe, as ``head``
    does; its exit code and standard error."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        out, err = process.stdout, process.stderr
        assert out is not None
        assert err is not None
        assert len(out.read(after)) == after
        out.close()
        error = err.read().decode()
        return process.wait(timeout=120), error


def test_every_help_example_runs_as_written(tmp_path: Path) -> None:
    import shlex
    import shutil

    from vecloss.cli.examples import EXAMPLES

    shutil.copy(EXAMPLE, tmp_path / "data.json")
    for command, lines in EXAMPLES.items():
        shown = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True).stdout
        for line in lines:
            assert line in shown, (command, line)  # the help shows it
            words = shlex.split(line)
            assert words[0] == "vecloss"
            done = _cli(*words[1:], cwd=tmp_path)
            assert done.returncode == 0, (line, done.stderr)
