"""A smoke run of the benchmark harness at tiny sizes: every contender, checked results.

Speed is not asserted here (that is the benchmarks' job); the harness's outputs are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import portfolio
from vecloss.api import validated
from vecloss.bench.contenders import CONTENDERS
from vecloss.bench.harness import check_losses, measure_engines
from vecloss.cli import main


def test_bench_writes_every_engine_and_peer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "bench",
                "--sizes",
                "200,600",
                "--repeat",
                "2",
                "--workers",
                "2",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    results = pl.read_csv(out / "results.csv")
    assert set(results["engine"]) == set(CONTENDERS)
    assert set(results["size"]) == {200, 600}
    for column in (
        "seconds",
        "min_seconds",
        "max_seconds",
        "peak_mib",
        "speedup_vs_processes",
        "extrapolated",
    ):
        assert column in results.columns
    assert not results["extrapolated"].any()
    assert (results.filter(pl.col("engine") != "floor")["checked"].str.starts_with("ok")).all()
    e2e = pl.read_csv(out / "e2e.csv")
    assert set(e2e["task"]) == {
        "parquet->losses parquet",
        "parquet->total",
        "json array->frame",
        "csv->frame",
        "ndjson->frame",
    }
    assert (out / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((out / "results.json").read_text())
    assert doc["machine"]["cores"] >= 1
    assert "| vectorized |" in capsys.readouterr().out


def test_budget_extrapolates_and_marks_it() -> None:
    results = measure_engines([100, 100_000], ["loop"], repeat=1, budget=1e-6)
    big = next(m for m in results if m.size == 100_000)
    small = next(m for m in results if m.size == 100)
    assert big.extrapolated
    assert not small.extrapolated
    assert math.isclose(big.seconds, small.seconds * 1000)


def test_a_wrong_result_fails_the_check() -> None:
    frame = validated(portfolio(50))
    wrong = np.ones(50)
    with pytest.raises(AssertionError):
        check_losses(frame, wrong, formula="complex", years=10, discount_rate=0.05)


def test_bench_targets_measures_every_target_of_the_issue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vecloss.bench.targets import KEY_COUNT, LAYOUTS
    from vecloss.kernels.blocks import jit_available

    out = tmp_path / "out"
    argv = ["bench", "--targets", "--sizes", "1000,3000", "--repeat", "2", "--output-dir", str(out)]
    assert main(argv) == 0
    targets = pl.read_csv(out / "targets.csv")
    works = set(targets["work"])
    from vecloss.bench.ids import KINDS
    from vecloss.bench.race import FORMULAS

    for formula in FORMULAS:
        losses = targets.filter(pl.col("work") == f"vecloss.losses, {formula}")
        for kind in KINDS:  # every id kind at every size, its own row
            assert losses.filter(pl.col("ids") == kind)["rows"].to_list() == [1_000, 3_000]
        assert f"vecloss.losses, {formula}: NumPy kernels alone (no numba)" in works
        assert f"accuracy, {formula} (NumPy and compiled kernels)" in works
    for layout in LAYOUTS:
        assert targets.filter(pl.col("work") == f"JSON array -> frame, {layout}").height == 2
        assert any(w.startswith(f"JSON array streamed by vecloss run, {layout}") for w in works)
    assert {"Parquet -> total", "Parquet -> per-building Parquet", "CSV -> frame"} <= works
    assert "Parquet -> total, whole process" in works
    for reader in ("polars reads the five columns", "duckdb reads the four numbers"):
        bound = f"Parquet -> total, whole process: python: {reader}"
        assert any(w.startswith(bound) for w in works)
    assert "make run's quick comparison (vecloss bench --quick, as a process): vectorized" in works
    assert targets["ids"].null_count() == 0  # every row names its ids ("-": not about ids)
    assert "NDJSON -> frame" in works
    assert f"NDJSON -> frame: {KEY_COUNT}" in works  # what read() adds to Polars' reader
    checked_floor = any("floor" in w and "every check" in w for w in works)
    assert checked_floor == jit_available()  # (it needs the compiled kernel)
    ratios = targets.filter(pl.col("peer_value").is_not_null())
    values = ratios["vecloss"] / ratios["peer_value"]
    assert np.allclose(ratios["value"].to_numpy(), values.to_numpy())
    goals = targets.filter(pl.col("limit").is_not_null())
    assert goals["met"].to_list() == (goals["value"] <= goals["limit"]).to_list()
    assert targets.filter(pl.col("limit").is_null())["met"].is_null().all()
    assert "| met |" in capsys.readouterr().out
    assert "targets met" in (out / "targets.md").read_text()
    from vecloss.bench.targets import markdown_runs

    table = markdown_runs([targets, targets, targets]).splitlines()
    assert len(table) == 2 + targets.height
    met = goals["met"].sum()
    assert sum("| 3 of 3 |" in line for line in table) == met
    assert sum("0 of 3 (**not met**)" in line for line in table) == goals.height - met


def test_bench_risk_checks_what_it_measures() -> None:
    from vecloss.bench.risk import dense_baseline, markdown_risk, measure_risk

    rows = measure_risk(
        2_000,
        1_000,
        stream_rows=5_000,
        exact_periods=200_000,
        repeat=1,
        coverage_rows=300,
        coverage_seeds=20,
        long_rows=300,
        long_periods=100_000,
    )
    # every row but the timed ratios (the first four) and the coverage over 20 seeds (too few
    # to hold a rate to 93-98 %; tests/test_risk.py checks it over 300): memory twice (each
    # child's own peak), vs exact twice, the exact AEP bounds, against a long simulation, the
    # same bits
    coverage = rows.pop(-2)
    assert coverage.work.startswith("95 % intervals over 20 seeds, 300 buildings")
    assert "AAL" in coverage.measured
    assert coverage.met is not None
    assert [r.met for r in rows[4:]] == [True] * 7
    assert "damage uncertainty" in rows[2].work
    assert "public generator's portfolio as it is" in rows[3].work
    assert sum("streamed from Parquet" in r.work for r in rows) == 2
    assert rows[0].ratio is not None
    assert rows[0].ratio > 0
    assert "identical" in rows[-1].measured
    assert "Dask" in rows[-1].measured
    assert markdown_risk(rows).count("\n") == len(rows) + 1
    p, loss = np.array([0.0, 1.0, 0.5]), np.array([5.0, 2.0, 7.0])
    total, largest = dense_baseline(p, loss, 4_000)
    assert set(np.unique(total).tolist()) <= {2.0, 9.0}
    assert abs(total.mean() - 5.5) < 0.3
    assert set(np.unique(largest).tolist()) <= {2.0, 7.0}
