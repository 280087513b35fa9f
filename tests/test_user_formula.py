"""The README's user formula (a depth-damage curve over an extra column), on every path.

The block under ``<!-- user-formula -->`` in README.md is saved as ``flood.py`` and used
as written: every result is compared with the same function written in plain NumPy, to
1e-12 relative.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import pytest

import vecloss
from tests.conftest import ROOT

RTOL = 1e-12


def readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- user-formula -->\n```python\n(.*?)```", text, re.S)
    assert found, "README.md has no user-formula block"
    return found.group(1)


@pytest.fixture(scope="module")
def flood_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """``flood.py`` as the README says to save it, importable here and in child processes."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "flood.py").write_text(readme_block(), encoding="utf-8")
    sys.path.insert(0, str(folder))
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), before]))
    try:
        yield importlib.import_module("flood")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("flood", None)
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def flood(flood_module: ModuleType) -> vecloss.Formula:
    formula: vecloss.Formula = flood_module.flood
    return formula


def depths(rows: int, seed: int = 3) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(0.0, 5.0, rows), 3)


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    base = vecloss.portfolio(3_000, seed=7)
    return base.with_columns(flood_depth=depths(base.height))


def by_hand(frame: pl.DataFrame, years: int = 10, rate: float = 0.05) -> np.ndarray:
    """The README's formula in plain NumPy: C * share(depth) * p / (1 + d)**T."""
    share = np.interp(
        frame["flood_depth"].to_numpy(),
        [0.0, 0.5, 1.0, 2.0, 3.0, 6.0],
        [0.0, 0.25, 0.4, 0.6, 0.75, 1.0],
    )
    cost = frame["construction_cost"].to_numpy()
    return cost * share * frame["hazard_probability"].to_numpy() / (1 + rate) ** years


def close(got: Any, expected: Any) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=RTOL, atol=0)


def test_losses_in_memory_on_every_kernel(flood: vecloss.Formula, frame: pl.DataFrame) -> None:
    for engine in ("vectorized", "loop", "threads", "processes"):
        small = frame if engine == "vectorized" else frame.head(200)
        out = vecloss.losses(small, formula=flood, engine=engine)
        close(out["loss"], by_hand(small))
    assert vecloss.losses(frame, formula=flood)["loss"].sum() > 0


def test_grid_by_and_pandas(flood: vecloss.Formula, frame: pl.DataFrame) -> None:
    grid = vecloss.losses(frame, formula=flood, years=[10, 30], discount_rate=[0.0, 0.05])
    for (t, d), part in grid.group_by("years", "discount_rate", maintain_order=True):
        close(part["loss"], by_hand(frame, int(t), float(d)))  # type: ignore[arg-type]
    groups = vecloss.losses(frame, formula=flood, by="region")
    expected = frame.with_columns(loss=by_hand(frame)).group_by("region").agg(pl.col("loss").sum())
    joined = groups.join(expected, on="region")
    close(joined["total_loss"], joined["loss"].to_numpy())
    pandas = pytest.importorskip("pandas")
    given = frame.head(50).to_pandas().set_index("buildingId")
    out = vecloss.losses(given.reset_index(), formula=flood)
    assert isinstance(out, pandas.DataFrame)
    close(out["loss"], by_hand(frame.head(50)))


def test_expression(flood: vecloss.Formula, frame: pl.DataFrame) -> None:
    out = frame.select(vecloss.loss(formula=flood))
    close(out["loss"], by_hand(frame))


def test_run_every_format_and_batch_size(
    flood: vecloss.Formula, frame: pl.DataFrame, tmp_path: Path
) -> None:
    expected = by_hand(frame)
    frame.write_parquet(tmp_path / "p.parquet", row_group_size=500)
    frame.write_csv(tmp_path / "p.csv")
    folder = tmp_path / "lake"
    folder.mkdir()
    for k, part in enumerate(frame.iter_slices(1_000)):
        part.write_parquet(folder / f"part-{k}.parquet")
    with sqlite3.connect(tmp_path / "p.db") as con:
        frame.to_pandas().to_sql("portfolio", con, index=False)
    inputs = [tmp_path / "p.parquet", tmp_path / "p.csv", folder, f"sqlite:///{tmp_path}/p.db"]
    for k, source in enumerate(inputs):
        for batch_rows in (700, 500_000):
            out = tmp_path / f"out-{k}-{batch_rows}.parquet"
            options: dict[str, Any] = (
                {"table": "portfolio"} if str(source).startswith("sql") else {}
            )
            summary = vecloss.run(source, out, formula=flood, batch_rows=batch_rows, **options)
            assert summary.rows == frame.height
            assert summary.formula == "flood"
            written = pl.read_parquet(out).join(
                frame.select("buildingId").with_row_index(), on="buildingId"
            )
            close(written.sort("index")["loss"], expected)
            close(summary.total_loss, np.sum(expected))


def test_skip_mode_names_the_extra_columns_rule(
    flood: vecloss.Formula, frame: pl.DataFrame, tmp_path: Path
) -> None:
    bad = frame.head(20).with_columns(
        flood_depth=pl.when(pl.int_range(20) == 3)
        .then(-1.0)
        .when(pl.int_range(20) == 7)
        .then(float("nan"))
        .otherwise(pl.col("flood_depth"))
    )
    bad.write_parquet(tmp_path / "bad.parquet")
    summary = vecloss.run(
        tmp_path / "bad.parquet",
        tmp_path / "out.parquet",
        formula=flood,
        on_invalid="skip",
        rejects=tmp_path / "rejects.csv",
    )
    rejects = pl.read_csv(tmp_path / "rejects.csv")
    assert summary.rows + summary.rejected == 20
    assert rejects["row"].to_list() == [4, 8]
    assert rejects["reason"].to_list() == [
        "flood_depth: out_of_range (must be 0 <= x <= 30)",
        "flood_depth: not_finite",
    ]
    with pytest.raises(vecloss.ValidationError, match=r"flood_depth: out_of_range \(must be"):
        vecloss.losses(bad, formula=flood)
    report = vecloss.validate(bad, formula=flood)
    assert sorted(report.failures["column"].to_list()) == ["flood_depth", "flood_depth"]
    with pytest.raises(vecloss.InputError, match="missing column flood_depth"):
        vecloss.losses(frame.drop("flood_depth"), formula=flood)


def test_dask_local_cluster(flood: vecloss.Formula, frame: pl.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    folder = tmp_path / "lake"
    folder.mkdir()
    for k, part in enumerate(frame.iter_slices(1_000)):
        part.write_parquet(folder / f"part-{k}.parquet")
    # the README's block run as a script's code (no module to import on the workers): the
    # formula's function travels to the workers by value
    code: dict[str, Any] = {"__name__": "not_importable_flood"}
    exec(compile(readme_block(), "README.md", "exec"), code)
    out = f"{tmp_path}/out/"  # a folder: one file per part
    summary = vecloss.run(folder, out, formula=code["flood"], engine="dask", workers=2)
    written = pl.read_parquet(out).join(
        frame.select("buildingId").with_row_index(), on="buildingId"
    )
    close(written.sort("index")["loss"], by_hand(frame))
    close(summary.total_loss, np.sum(by_hand(frame)))
    risk = vecloss.risk(folder, formula=code["flood"], engine="dask", periods=2_000, seed=1)
    alone = vecloss.risk(frame, formula=flood, periods=2_000, seed=1)
    assert risk.aal["mean_loss"].to_list() == alone.aal["mean_loss"].to_list()


def test_risk_exact_and_simulated(flood: vecloss.Formula, frame: pl.DataFrame) -> None:
    small = frame.head(12)
    exact = vecloss.risk(small, formula=flood, exact=True)
    close(exact.aal["mean_loss"], [np.sum(by_hand(small))])
    ylt = vecloss.simulate(frame, formula=flood, periods=4_000, seed=2)
    assert ylt["loss"].mean() == pytest.approx(np.sum(by_hand(frame)), rel=0.1)
    some = frame.head(60)  # (the exact AEP enumerates each region's outcomes: a few buildings)
    by_region = vecloss.risk(some, formula=flood, by="region", exact=True).aal
    expected = some.with_columns(loss=by_hand(some)).group_by("region").agg(pl.col("loss").sum())
    joined = by_region.join(expected, on="region")
    close(joined["mean_loss"], joined["loss"].to_numpy())


def test_command_line_and_bench(
    flood_module: ModuleType, frame: pl.DataFrame, tmp_path: Path
) -> None:
    del flood_module  # (its folder is on PYTHONPATH)
    frame.write_parquet(tmp_path / "p.parquet")
    vecloss_cli = [sys.executable, "-m", "vecloss"]
    done = subprocess.run(
        [*vecloss_cli, "run", str(tmp_path / "p.parquet"), "--formula", "flood:flood", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["formula"] == "flood"
    close(summary["total_loss"], np.sum(by_hand(frame)))
    unknown = subprocess.run(
        [*vecloss_cli, "run", str(tmp_path / "p.parquet"), "--formula", "flood:nothing"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unknown.returncode == 2
    assert "flood.nothing is nothing, not a vecloss.Formula" in unknown.stderr
    pytest.importorskip("duckdb")
    bench = subprocess.run(
        [
            *vecloss_cli,
            "bench",
            "--formula",
            "flood:flood",
            "--sizes",
            "200,1000",
            "--engines",
            "vectorized,loop,processes",
            "--repeat",
            "1",
            "--output-dir",
            str(tmp_path / "bench"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bench.returncode == 0, bench.stderr
    checked = pl.read_csv(tmp_path / "bench" / "results.csv")["checked"].to_list()
    assert len(checked) == 6  # every contender at every size, checked against the reference
    assert all(c.startswith("ok") for c in checked), checked
