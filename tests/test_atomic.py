"""Output appears whole or not at all, even when the process is killed mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import generate


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(3_000_000, tmp_path_factory.mktemp("big") / "big.parquet")


def start_run(source: Path, output: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecloss",
            "run",
            str(source),
            "-o",
            str(output),
            "--batch-rows",
            "20000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_partial_file(folder: Path, name: str, proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = [p for p in folder.glob(f".{name}.*.tmp") if p.stat().st_size > 64 * 1024]
        if partial:
            return partial[0]
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.005)
    raise AssertionError("no partial output appeared")


@pytest.mark.parametrize("existing", [True, False])
def test_sigkill_mid_write_leaves_destination_alone(
    tmp_path: Path, big_input: Path, existing: bool
) -> None:
    output = tmp_path / "losses.csv"
    if existing:
        output.write_text("buildingId,loss\n1,2.0\n")
    proc = start_run(big_input, output)
    partial = wait_for_partial_file(tmp_path, output.name, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert partial.exists(), "the kill came mid-write"
    if existing:
        assert output.read_text() == "buildingId,loss\n1,2.0\n"
    else:
        assert not output.exists()


def test_completed_run_replaces_the_file_whole(tmp_path: Path, big_input: Path) -> None:
    output = tmp_path / "losses.parquet"
    output.write_text("old")
    proc = start_run(big_input, output)
    assert proc.wait() == 0
    assert pl.scan_parquet(output).select(pl.len()).collect().item() == 3_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["losses.parquet"]
