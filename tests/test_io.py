"""Every format reads to the same portfolio and gives the same losses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import (
    EXAMPLE,
    EXAMPLE_TOTAL,
    assert_close,
    assert_matches_reference,
    generate,
    portfolio,
)
from vecloss import VeclossError, losses, read, synthetic
from vecloss.api import validated
from vecloss.io.convert import convert
from vecloss.io.formats import SUFFIXES
from vecloss.io.source import iter_batches

FORMATS = sorted(SUFFIXES)


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_format_gives_the_example_losses(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"data{suffix}"
    assert convert(EXAMPLE, target) == 5
    frame = read(target)
    assert frame["buildingId"].to_list() == [1, 2, 3, 4, 5]
    out = losses(frame)
    assert_matches_reference(frame, out["loss"])
    assert_close(out["loss"].sum(), EXAMPLE_TOTAL)


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_keeps_values_string_ids_and_extra_columns(tmp_path: Path, suffix: str) -> None:
    frame = portfolio(1000, seed=3).with_columns(
        buildingId=pl.format("B-{}", pl.col("buildingId")), region=pl.lit("EU")
    )
    source = tmp_path / "in.parquet"
    frame.write_parquet(source)
    target = tmp_path / f"out{suffix}"
    convert(source, target)
    back = read(target)
    assert back["buildingId"].dtype == pl.String
    assert back.columns == frame.columns
    assert back.equals(frame)


@pytest.mark.parametrize("suffix", FORMATS)
def test_generate_is_seeded(tmp_path: Path, suffix: str) -> None:
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    generate(300, a, seed=11)
    generate(300, b, seed=11)
    assert read(a).equals(read(b))
    assert read(a).equals(portfolio(300, seed=11))


def test_generated_portfolios_are_shaped_as_documented() -> None:
    import vecloss

    frame = vecloss.portfolio(200_000, seed=1)
    ids = frame["buildingId"]
    assert ids.dtype == pl.String
    assert ids.is_unique().all()
    assert ids.str.starts_with("LOC-").all()
    assert not ids.is_sorted()
    assert validated(frame).height == frame.height
    p = frame["hazard_probability"]
    assert 0.009 < p.mean() < 0.011  # Beta(0.5, 49.5): mean 1 %
    assert 0.004 < p.median() < 0.005  # most buildings rarely hit ...
    assert 0.003 < (p > 0.07).mean() < 0.01  # ... a few often
    assert frame["floor_area"].min() >= 30
    assert frame["floor_area"].max() <= 50_000
    assert frame["inflation_rate"].min() >= -0.01
    assert frame["inflation_rate"].max() <= 0.09
    shares = frame["region"].value_counts(normalize=True, name="share")
    assert set(shares["region"]) == set(synthetic.REGIONS)
    for region, share in shares.iter_rows():
        assert abs(share - synthetic.REGIONS[region]) < 0.01
    for kind in ("shuffled", "sorted"):
        numbers = vecloss.portfolio(1_000, seed=1, ids=kind)["buildingId"]
        assert numbers.sort().to_list() == list(range(1, 1_001))
        assert numbers.is_sorted() == (kind == "sorted")


def test_a_larger_portfolio_starts_with_the_smaller(monkeypatch: pytest.MonkeyPatch) -> None:
    import vecloss.synthetic as g

    monkeypatch.setattr(g, "CHUNK_ROWS", 100)
    assert portfolio(1000, seed=5).head(250).equals(portfolio(250, seed=5))


def test_parquet_batches_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    generate(10_000, path)
    sizes = [b.height for b in iter_batches(path, batch_rows=3000, columns=["buildingId", "loss"])]
    assert sum(sizes) == 10_000
    assert max(sizes) <= 3000
    assert all(
        b.columns == ["buildingId"]
        for b in iter_batches(path, batch_rows=5000, columns=["buildingId"])
    )


@pytest.mark.parametrize(
    ("batch_rows", "sizes"),
    [
        (8, [8, 8]),
        (4, [4, 4, 4, 4]),
        (3, [3, 3, 3, 3, 3, 1]),
        (100, [16]),
    ],
)
def test_parquet_batches_cut_across_row_groups(
    tmp_path: Path, batch_rows: int, sizes: list[int]
) -> None:
    import pyarrow.parquet as pq

    from vecloss.io import parquet

    frame = portfolio(16)
    path = tmp_path / "p.parquet"
    with pq.ParquetWriter(path, frame.to_arrow().schema) as writer:
        for lo, hi in [(0, 5), (5, 8), (8, 15), (15, 16)]:
            writer.write_table(frame.slice(lo, hi - lo).to_arrow())
    batches = list(parquet.iter_batches(path, batch_rows=batch_rows, columns=["buildingId"]))
    assert [b.height for b in batches] == sizes
    assert pl.concat(batches).equals(frame.select("buildingId"))
    some = parquet.iter_batches(path, batch_rows=batch_rows, row_groups=[1, 2])
    assert pl.concat(list(some)).equals(frame.slice(5, 10))


def test_csv_with_a_bad_number_is_read_as_text_for_validation(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate\n"
        "1,100,1000,0.1,0.02\n2,abc,1000,0.1,0.02\n"
    )
    from vecloss.io.csv import read as read_csv

    frame = read_csv(path)
    assert frame["buildingId"].dtype == pl.Int64
    assert frame["floor_area"].to_list() == ["100", "abc"]


def test_losses_do_not_depend_on_the_format(tmp_path: Path) -> None:
    frame = portfolio(5000, seed=2)
    results = []
    for suffix in FORMATS:
        path = tmp_path / f"p{suffix}"
        convert_from = tmp_path / "src.parquet"
        frame.write_parquet(convert_from)
        convert(convert_from, path)
        results.append(losses(read(path))["loss"].to_numpy())
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_a_folder_or_glob_of_parquet_files_is_one_input(tmp_path: Path) -> None:
    from vecloss import run

    frame = portfolio(10_000, seed=6)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(4):
        frame.slice(k * 2500, 2500).write_parquet(folder / f"part-{k}.parquet")
    whole = tmp_path / "whole.parquet"
    frame.write_parquet(whole)
    single = run(whole)
    for source in (folder, f"{folder}/part-*.parquet"):
        summary = run(source, batch_rows=999)
        assert summary.rows == 10_000
        assert math.isclose(summary.total_loss, single.total_loss, rel_tol=1e-12)  # type: ignore[arg-type]
    frame.slice(0, 10).write_parquet(folder / "part-9.parquet")  # repeats ids 1..10
    with pytest.raises(VeclossError, match="duplicate_id, 10 rows"):
        run(folder)


def test_read_ahead_keeps_order_errors_and_stops_cleanly() -> None:
    import threading

    from vecloss.io.source import read_ahead

    def frames(n: int, fail_at: int | None = None):  # type: ignore[no-untyped-def]
        for k in range(n):
            if k == fail_at:
                raise ValueError("boom")
            yield pl.DataFrame({"k": [k]})

    assert [f["k"][0] for f in read_ahead(frames(50))] == list(range(50))
    seen: list[int] = []

    def consume() -> None:
        for f in read_ahead(frames(10, fail_at=4)):
            seen.append(f["k"][0])

    with pytest.raises(ValueError, match="boom"):
        consume()
    assert seen == [0, 1, 2, 3]
    for f in read_ahead(frames(1000)):
        if f["k"][0] == 2:
            break
    assert not [t for t in threading.enumerate() if t.name == "vecloss-read-ahead"]


def test_work_ahead_keeps_order_and_errors_and_hands_back_the_rest() -> None:
    import threading

    from vecloss.io._ahead import WorkAhead

    learned: list[int] = []  # what the caller learns from the first item, before any other

    def work(k: int) -> int:
        if k == 6:
            raise ValueError("six")
        return k * 10 + len(learned)

    ahead = WorkAhead(iter(range(12)), work, ahead=2)
    results: list[int] = []
    for k, outcome in ahead:
        if k == 6:
            with pytest.raises(ValueError, match="six"):
                outcome.result()
            break
        results.append(outcome.result())
        learned.append(k)
    assert [r // 10 for r in results] == [0, 1, 2, 3, 4, 5]  # in order
    assert results[0] % 10 == 0  # the first was worked on alone, the rest after it was learned
    assert all(r % 10 >= 1 for r in results[1:])
    assert list(ahead.rest()) == [7, 8, 9, 10, 11]  # in order, none lost
    assert not [t for t in threading.enumerate() if t.name.startswith("vecloss-parse")]
    assert list(WorkAhead(iter([]), work)) == []


def test_write_behind_raises_a_writer_failure_and_closes_it() -> None:
    from vecloss.io._ahead import WriteBehind

    class Failing:
        def __init__(self) -> None:
            self.written: list[int] = []
            self.closed = False

        def write(self, frame: pl.DataFrame) -> None:
            if len(self.written) == 1:
                raise OSError("disk full")
            self.written.append(frame.height)

        def close(self) -> None:
            self.closed = True

    inner = Failing()
    writer = WriteBehind(inner)

    def write_many_then_close() -> None:
        for _ in range(100):  # a later write, or close, raises; never blocks
            writer.write(pl.DataFrame({"a": [1, 2]}))
        writer.close()

    with pytest.raises(OSError, match="disk full"):
        write_many_then_close()
    if not inner.closed:  # the failure came through a write: close raises it too
        with pytest.raises(OSError, match="disk full"):
            writer.close()
    assert inner.closed
    assert inner.written == [2]


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_a_type_that_changes_after_the_inferred_rows_still_reads(
    tmp_path: Path, suffix: str
) -> None:
    frame = portfolio(300).with_columns(pl.col("buildingId").cast(pl.String))
    frame = frame.with_columns(  # ids numeric for 250 rows, then text; a note only late
        buildingId=pl.when(pl.int_range(pl.len()) < 250)
        .then(pl.col("buildingId"))
        .otherwise(pl.lit("B") + pl.col("buildingId")),
        note=pl.when(pl.int_range(pl.len()) < 250).then(None).otherwise(pl.lit("late")),
    )
    path = tmp_path / f"p{suffix}"
    if suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_ndjson(path)
    got = read(path)
    assert got.height == 300
    assert got["buildingId"].to_list() == frame["buildingId"].to_list()
    assert got["note"].to_list() == frame["note"].to_list()
