"""Data as lakes hold it (the analyst's second afternoon, item 8): hive-partitioned folders read
at every level with their keys as columns, ids stored as categories read as their strings, and
one spelling of ``by`` in Python and on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import vecloss

CLI = [sys.executable, "-m", "vecloss"]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """A portfolio as pyarrow writes a dataset: year=2024/region=north/<uuid>.parquet, the
    partition keys in the folder names only."""
    frame = vecloss.portfolio(2_000, seed=4, ids="strings").with_columns(year=pl.lit(2024))
    pq.write_to_dataset(frame.to_arrow(), tmp_path / "lake", partition_cols=["year", "region"])
    (tmp_path / "lake" / "_SUCCESS").write_text("")  # what Spark leaves: not data
    return tmp_path / "lake"


def test_a_partitioned_folder_reads_with_its_keys_as_columns(lake: Path) -> None:
    expected = vecloss.portfolio(2_000, seed=4, ids="strings")
    frame = vecloss.read(lake)
    assert frame.height == 2_000
    assert frame.schema["year"] == pl.Int64
    assert frame.schema["region"] == pl.String
    joined = frame.join(expected, on="buildingId", suffix="_given")
    assert (joined["region"] == joined["region_given"]).all()


def test_partition_keys_work_in_by_keep_and_shared_by(lake: Path, tmp_path: Path) -> None:
    expected = vecloss.losses(vecloss.portfolio(2_000, seed=4, ids="strings"), by="region")
    summary = vecloss.run(lake, tmp_path / "o.parquet", by="region", keep=["year"])
    got = summary.groups.sort("region")
    assert got["buildings"].to_list() == expected.sort("region")["buildings"].to_list()
    assert pl.read_parquet(tmp_path / "o.parquet")["year"].unique().to_list() == [2024]
    glob = vecloss.run(f"{lake}/*/*/*.parquet", by="region")  # a glob keeps the keys too
    assert glob.groups.sort("region")["total_loss"].to_list() == got["total_loss"].to_list()
    risk = vecloss.risk(lake, by="region", shared_by="year", periods=1000)
    assert risk.aal.height == 8


def test_files_partitioned_two_ways_are_refused(tmp_path: Path) -> None:
    frame = vecloss.portfolio(10, seed=1)
    for sub in ("region=a", "zone=b"):
        (tmp_path / "lake" / sub).mkdir(parents=True)
        frame.write_parquet(tmp_path / "lake" / sub / "p.parquet")
    with pytest.raises(vecloss.InputError, match="partitioned by different keys"):
        vecloss.run(tmp_path / "lake")


@pytest.mark.parametrize("store", ["polars", "pandas", "arrow", "parquet"])
def test_ids_stored_as_categories_are_their_strings(tmp_path: Path, store: str) -> None:
    frame = vecloss.portfolio(100, seed=2, ids="strings")
    expected = vecloss.losses(frame)["loss"].to_list()
    data: object
    if store == "polars":
        data = frame.with_columns(pl.col("buildingId").cast(pl.Categorical))
    elif store == "pandas":
        data = frame.to_pandas().astype({"buildingId": "category"})
    else:
        table = frame.to_arrow()
        data = table.set_column(
            0, "buildingId", pa.chunked_array(table.column(0)).dictionary_encode()
        )
        if store == "parquet":
            pq.write_table(data, tmp_path / "p.parquet")
            data = tmp_path / "p.parquet"
    if isinstance(data, Path):
        assert vecloss.read(data)["buildingId"].dtype == pl.String
        assert vecloss.run(data).total_loss == pytest.approx(sum(expected), rel=1e-12)
        return
    out = vecloss.losses(data)  # type: ignore[type-var]
    column = out["loss"]
    losses = column.to_pylist() if isinstance(column, pa.ChunkedArray) else list(column)
    assert losses == expected


def test_by_is_one_spelling_on_the_command_line(lake: Path, tmp_path: Path) -> None:
    for flag in ("--by", "--group-by"):  # the old flag kept as an alias
        done = subprocess.run(
            [*CLI, "run", str(lake), flag, "region", "--json"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)["groups"]) == 8


def test_a_folder_never_leaves_out_a_portfolio_file_of_another_format(tmp_path: Path) -> None:
    """A folder input reads its Parquet files; a CSV or JSON portfolio beside them would be
    left out of the total without a word, so it is an error that names it, and the ways out
    work: only the Parquet files (a glob), or the others converted."""
    folder = tmp_path / "portfolio"
    folder.mkdir()
    vecloss.portfolio(30, seed=1).write_parquet(folder / "a.parquet")
    vecloss.portfolio(20, seed=2).write_csv(folder / "b.csv")
    (folder / "_SUCCESS").touch()  # (a writer's marker and notes are not portfolios)
    (folder / "README.txt").write_text("notes")
    for call in (vecloss.run, vecloss.validate, vecloss.risk):
        with pytest.raises(vecloss.InputError, match=r"holds 1 Parquet file and also b\.csv"):
            call(folder)
    assert vecloss.run(f"{folder}/*.parquet").rows == 30
    (folder / "a.parquet").unlink()
    with pytest.raises(vecloss.InputError, match=r"no Parquet files found, but b\.csv; hint"):
        vecloss.run(folder)
    vecloss.read(folder / "b.csv").write_parquet(folder / "b.parquet")
    (folder / "b.csv").unlink()
    (folder / "c.PARQUET").write_bytes((folder / "b.parquet").read_bytes())
    with pytest.raises(vecloss.InputError, match="duplicate"):  # (read, not skipped)
        vecloss.run(folder)
