"""A write that meets a full disk ends with an error, never a hang (hardening H1): the Parquet
writer's thread used to wait forever for its end marker when the last flush failed. The error
names the destination the user gave, in every format (U5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import generate

LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # files of 1 MiB at most
from vecloss.cli import console
sys.argv = ["vecloss", *sys.argv[1:]]
console()
"""


@pytest.mark.parametrize("command", ["run", "generate"])
def test_h1_a_parquet_write_past_the_file_size_limit_fails_instead_of_hanging(
    tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out.parquet"
    if command == "run":
        source = generate(300_000, tmp_path / "in.parquet", seed=1)
        argv = ["run", str(source), "-o", str(out)]
    else:
        argv = ["generate", "300000", "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "File too large" in done.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "output", ["o.csv", "o.ndjson", "o.json", "o.arrow", "o.parquet", "out/", "-"]
)
def test_u5_a_write_past_the_limit_names_the_destination_given(tmp_path: Path, output: str) -> None:
    source = generate(300_000, tmp_path / "in.parquet", seed=1)
    argv = ["run", str(source), "-o", output, *(["--format", "csv"] if output == "-" else [])]
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    shown = "-o - (staged in " if output == "-" else f"{output}: "
    assert done.stderr.startswith(f"vecloss: error: {shown}"), done.stderr
    assert "File too large; hint: the file passes a size limit" in done.stderr
    assert ".vecloss-" not in done.stderr  # never the hidden staging name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]
