"""The Dask engine: the same rows, the same total bits, the same errors as one process."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import assert_matches_reference, portfolio
from vecloss import ValidationError, run
from vecloss.api import validated
from vecloss.cli import main

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return portfolio(200_000, seed=21)


@pytest.fixture(scope="module")
def folder(frame: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The portfolio as 8 Parquet files of uneven sizes, small row groups."""
    where = tmp_path_factory.mktemp("eight")
    edges = [0, 10_000, 40_000, 41_000, 90_000, 120_000, 150_001, 199_999, 200_000]
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        frame.slice(lo, hi - lo).write_parquet(where / f"part-{k}.parquet", row_group_size=7_000)
    return where


def test_folder_of_eight_files_same_total_bits(
    folder: Path, client: object, tmp_path: Path
) -> None:
    local = run(folder, tmp_path / "local.parquet")
    remote = run(
        folder, tmp_path / "dask.parquet", engine="dask", scheduler=client, batch_rows=3000
    )
    assert (remote.rows, remote.rejected) == (local.rows, 0) == (200_000, 0)
    assert remote.total_loss == local.total_loss
    assert pl.read_parquet(tmp_path / "dask.parquet").equals(
        pl.read_parquet(tmp_path / "local.parquet")
    )
    for batch_rows in (1_000, 65_536, 300_001):
        assert run(folder, batch_rows=batch_rows).total_loss == local.total_loss


def test_one_file_split_by_row_groups(frame: pl.DataFrame, client: object, tmp_path: Path) -> None:
    src = tmp_path / "one.parquet"
    frame.write_parquet(src, row_group_size=10_000)
    local = run(src, years=[5, 30], discount_rate=[0.02, 0.07])
    remote = run(src, years=[5, 30], discount_rate=[0.02, 0.07], engine="dask", scheduler=client)
    assert remote.totals.equals(local.totals)


def test_folder_output_by_every_engine(
    folder: Path, client: object, tmp_path: Path, frame: pl.DataFrame
) -> None:
    for engine in ("vectorized", "dask"):
        out = tmp_path / f"{engine}-out/"
        summary = run(folder, f"{out}/", engine=engine, scheduler=client)
        parts = sorted(out.glob("*.parquet"))
        assert parts
        assert all(p.name.startswith("part-") for p in parts)
        written = pl.read_parquet(out)
        assert written.height == summary.rows == 200_000
        assert written["buildingId"].equals(frame["buildingId"])
        assert_matches_reference(validated(frame.head(500)), written["loss"].head(500))


def test_skip_mode_accounting_on_dask(frame: pl.DataFrame, client: object, tmp_path: Path) -> None:
    dirty = frame.with_columns(
        hazard_probability=pl.when(pl.col("buildingId") % 1000 == 0)
        .then(2.0)
        .otherwise(pl.col("hazard_probability"))
    )
    src = tmp_path / "dirty.parquet"
    dirty.write_parquet(src, row_group_size=9_000)
    rejects = tmp_path / "rejects.csv"
    remote = run(
        src,
        tmp_path / "o.parquet",
        engine="dask",
        scheduler=client,
        on_invalid="skip",
        rejects=rejects,
    )
    local = run(src, tmp_path / "l.parquet", on_invalid="skip", rejects=tmp_path / "l.csv")
    assert (remote.rows, remote.rejected) == (local.rows, local.rejected) == (199_800, 200)
    assert remote.total_loss == local.total_loss
    assert pl.read_csv(rejects).equals(pl.read_csv(tmp_path / "l.csv"))
    with pytest.raises(ValidationError, match="hazard_probability: out_of_range"):
        run(src, engine="dask", scheduler=client)


def test_repeats_across_parts_are_caught(
    frame: pl.DataFrame, client: object, tmp_path: Path
) -> None:
    src = tmp_path / "twice.parquet"
    pl.concat([frame.head(50_000), frame.head(30)]).write_parquet(src, row_group_size=5_000)
    with pytest.raises(ValidationError, match="duplicate_id, 30 rows"):
        run(src, engine="dask", scheduler=client)


def test_cli_dask_with_its_own_local_cluster(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(folder), "--json"]) == 0
    local = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert main(["run", str(folder), "--engine", "dask", "--workers", "2", "--json"]) == 0
    remote = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (remote["rows"], remote["total_loss"]) == (local["rows"], local["total_loss"])
    assert remote["engine"] == "dask"


def test_dask_returns_the_same_summary_shape_and_preview(
    folder: Path, client: object, capsys: pytest.CaptureFixture[str]
) -> None:
    local = run(folder, preview_rows=20)
    remote = run(folder, engine="dask", scheduler=client, preview_rows=20)
    assert local.preview is not None
    assert remote.preview is not None
    assert remote.preview.equals(local.preview)
    assert set(remote.to_dict()) == set(local.to_dict())
    assert main(["run", str(folder), "--engine", "dask", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["buildingId", "loss"]
    assert "showing 20 of 200,000 buildings" in out


@pytest.mark.parametrize("shared_by", [None, "district"])
def test_risk_on_dask_gives_the_same_bits(
    folder: Path, client: object, tmp_path: Path, shared_by: str | None
) -> None:
    """Part year-loss tables combine exactly: the same bits as one process, any batching."""
    import numpy as np

    import vecloss

    with_groups = tmp_path / "groups"
    with_groups.mkdir()
    for k, path in enumerate(sorted(folder.iterdir())):
        part = pl.read_parquet(path)
        rng = np.random.default_rng(k)
        part.with_columns(
            region=pl.Series(rng.choice(["a", "b"], part.height)),
            district=pl.Series(rng.integers(0, 30, part.height)),
        ).write_parquet(with_groups / path.name, row_group_size=7_000)
    options = {"periods": 1_000, "seed": 3, "by": "region", "shared_by": shared_by}
    local = vecloss.risk(str(with_groups), batch_rows=100_000, **options)
    small = vecloss.risk(str(with_groups), batch_rows=1_000, **options)
    remote = vecloss.risk(str(with_groups), engine="dask", scheduler=client, **options)
    assert local.ylt is not None
    assert local.ylt.equals(small.ylt)
    assert local.ylt.equals(remote.ylt)
    assert local.ep.equals(remote.ep)
    assert local.aal.equals(remote.aal)
    exact_options = {"exact": True, "by": "region", "shared_by": shared_by}
    # two of the files (parts of their own on Dask): beyond enumeration, so the lattice
    # bounds (shared draws: each cell one event)
    some = tmp_path / "some"
    some.mkdir()
    for path in sorted(with_groups.iterdir())[:2]:
        (some / path.name).write_bytes(path.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no group left without its curve)
        exact = vecloss.risk(str(some), engine="dask", scheduler=client, **exact_options)
        alone = vecloss.risk(str(some), **exact_options)
    bounds = exact.ep.filter(pl.col("ep_type") == "AEP").select("low", "high")
    assert bounds.null_count().sum_horizontal().item() == 0
    assert bounds.to_numpy() == pytest.approx(
        alone.ep.filter(pl.col("ep_type") == "AEP").select("low", "high").to_numpy(),
        rel=1e-9,
    )
    assert exact.aal["mean_loss"].to_list() == pytest.approx(
        alone.aal["mean_loss"].to_list(), rel=1e-12
    )
    assert exact.ep.filter(pl.col("ep_type") == "OEP")["loss"].to_list() == pytest.approx(
        alone.ep.filter(pl.col("ep_type") == "OEP")["loss"].to_list(), rel=1e-9
    )
