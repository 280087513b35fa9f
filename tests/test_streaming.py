"""Text formats stream in batches: the same rows, totals and rejects as Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import vecloss.io._stream as stream_io
import vecloss.io.json as json_io
from tests.conftest import generate, portfolio
from vecloss import InputError, run
from vecloss.io.source import iter_batches


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream")
    return {
        suffix: generate(30_000, folder / f"p{suffix}", seed=4)
        for suffix in (".parquet", ".csv", ".ndjson", ".json")
    }


@pytest.mark.parametrize("suffix", [".csv", ".ndjson", ".json"])
def test_text_formats_stream_in_bounded_batches(
    files: dict[str, Path], suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_io, "BLOCK_BYTES", 50_000)  # many blocks for the JSON array
    sizes = [b.height for b in iter_batches(files[suffix], batch_rows=4_000)]
    assert sum(sizes) == 30_000
    assert max(sizes) <= 4_000
    assert len(sizes) >= 8
    streamed = run(files[suffix], batch_rows=4_000)
    assert streamed.total_loss == run(files[".parquet"]).total_loss


@pytest.mark.parametrize("indent", [None, 0, 2, "\t"])
def test_a_json_array_streams_in_every_layout(
    tmp_path: Path, indent: int | str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = portfolio(2_000, seed=1)
    path = tmp_path / "array.json"
    path.write_text(json.dumps(frame.to_dicts(), indent=indent))
    monkeypatch.setattr(stream_io, "BLOCK_BYTES", 10_000)
    blocks = list(json_io.iter_batches(path, batch_rows=1 << 40))
    assert len(blocks) >= path.stat().st_size // 10_000  # one parse per block: bounded memory
    assert pl.concat(blocks).equals(frame)
    assert (
        run(path, batch_rows=100).total_loss
        == run(generate(2_000, tmp_path / "p.parquet", seed=1)).total_loss
    )


@pytest.mark.parametrize("rejects_suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("suffix", [".csv", ".ndjson", ".json"])
def test_a_bad_value_late_in_the_stream(
    tmp_path: Path, suffix: str, rejects_suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_io, "BLOCK_BYTES", 20_000)
    frame = portfolio(20_000, seed=2).cast({"floor_area": pl.String})
    frame = frame.with_columns(
        floor_area=pl.when(pl.col("buildingId") == 17_777)
        .then(pl.lit("big"))
        .otherwise(pl.col("floor_area"))
    )
    path = tmp_path / f"late{suffix}"
    if suffix == ".csv":
        frame.write_csv(path)
    elif suffix == ".ndjson":
        frame.with_columns(pl.col("floor_area").cast(pl.Float64, strict=False)).with_columns(
            floor_area=pl.when(pl.col("buildingId") == 17_777)
            .then(None)
            .otherwise(pl.col("floor_area"))
        ).write_ndjson(path)
        text = path.read_text().replace(
            '"buildingId":17777,"floor_area":null', '"buildingId":17777,"floor_area":"big"'
        )
        path.write_text(text)
    else:
        rows = frame.with_columns(
            pl.col("floor_area").cast(pl.Float64, strict=False)
        ).write_ndjson()
        rows = rows.replace(
            '"buildingId":17777,"floor_area":null', '"buildingId":17777,"floor_area":"big"'
        )
        path.write_text("[\n" + rows.rstrip("\n").replace("\n", ",\n") + "\n]\n")
    rejects = tmp_path / "rejects.csv"
    summary = run(
        path, tmp_path / "o.parquet", batch_rows=3_000, on_invalid="skip", rejects=rejects
    )
    assert (summary.rows, summary.rejected) == (19_999, 1)
    rejected = pl.read_csv(rejects)
    assert rejected["buildingId"].to_list() == [17_777]
    assert rejected["row"].to_list() == [17_777]
    assert "floor_area: not_numeric" in rejected["reason"][0]
    assert pl.read_parquet(tmp_path / "o.parquet")["buildingId"].dtype == pl.Int64


def test_unclosed_streamed_array(tmp_path: Path) -> None:
    path = tmp_path / "open.json"
    generate(100, path)
    path.write_text(path.read_text().rstrip().rstrip("]"))
    with pytest.raises(InputError, match="not closed"):
        run(path)


def test_nan_in_a_json_array_is_reported_as_not_finite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vecloss.cli import main

    path = tmp_path / "nan.json"
    generate(3, path)
    text = path.read_text().replace('"hazard_probability":', '"hazard_probability":NaN,"x":', 1)
    path.write_text(text)
    assert main(["run", str(path)]) == 1
    assert "hazard_probability: not_finite, 1 row: buildingId 1" in capsys.readouterr().err


def test_csv_batches_keep_their_rows_whole_when_a_late_value_does_not_parse(
    tmp_path: Path,
) -> None:
    # Polars 2.1's streaming reader, asked for typed numbers, can give a batch whose ids
    # belong to other rows when a later value does not parse (seen in 1 read of 3 of this
    # file): the stream reads text and parses each batch itself
    from vecloss.io.csv import iter_batches as csv_batches

    frame = portfolio(20_000, seed=2).cast({"floor_area": pl.String})
    frame = frame.with_columns(
        floor_area=pl.when(pl.col("buildingId") == 17_777)
        .then(pl.lit("big"))
        .otherwise(pl.col("floor_area"))
    )
    path = tmp_path / "late.csv"
    frame.write_csv(path)
    for _ in range(12):
        got = pl.concat(list(csv_batches(path, batch_rows=3_000)), how="diagonal_relaxed")
        assert got["buildingId"].to_list() == frame["buildingId"].to_list()
        assert got["construction_cost"].equals(frame["construction_cost"])
        assert got["floor_area"].cast(pl.String).equals(frame["floor_area"])
