"""Sources that must not run as something else: one without the schema's columns is an error
on every path, never an empty portfolio (hardening D1: a renamed Parquet file ran as 0
buildings, total 0, exit 0); a conversion never writes over its input (C5); a column asked for
that a frame lacks is vecloss's own error (U3)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import vecloss
from vecloss.cli import main
from vecloss.exceptions import InputError


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    path = tmp_path / "renamed.parquet"
    pl.DataFrame({"id": [1, 2], "area": [10.0, 20.0]}).write_parquet(path)
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["run", "--on-invalid", "skip", "--rejects", "REJECTS"],
        ["validate"],
        ["risk", "--periods", "1000", "--seed", "1"],
        ["run", "--engine", "dask", "--workers", "1"],
    ],
    ids=["run", "skip", "validate", "risk", "dask"],
)
def test_d1_a_parquet_file_without_the_columns_is_an_error(
    renamed: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    if "dask" in argv:
        pytest.importorskip("distributed")
    args = [a.replace("REJECTS", str(renamed.with_name("rejects.csv"))) for a in argv]
    assert main([args[0], str(renamed), *args[1:]]) == 1
    err = capsys.readouterr().err
    assert "missing columns buildingId" in err
    assert "found id, area" in err


def test_d1_a_folder_of_such_files_is_an_error(renamed: Path) -> None:
    folder = renamed.parent / "lake"
    folder.mkdir()
    renamed.rename(folder / "a.parquet")
    with pytest.raises(vecloss.InputError, match="missing columns buildingId"):
        vecloss.run(folder)
    with pytest.raises(vecloss.InputError, match="missing columns buildingId"):
        vecloss.validate(folder)


def test_c5_convert_never_writes_over_its_input(tmp_path: Path) -> None:
    # hardening C5: `vecloss convert x.json x.json` rewrote its input in place and exited 0
    from tests.conftest import EXAMPLE

    source = tmp_path / "x.json"
    source.write_bytes(EXAMPLE.read_bytes())
    before = source.read_bytes()
    assert main(["convert", str(source), str(source)]) == 2
    assert main(["convert", str(source), str(tmp_path / "." / "x.json")]) == 2
    assert source.read_bytes() == before


@pytest.mark.parametrize("asked", [{"keep": ["nope"]}, {"by": "nope"}])
def test_u3_a_frame_without_a_column_asked_for_is_a_vecloss_error(asked: dict[str, object]) -> None:
    # hardening U3: vecloss.run(frame, keep=["nope"]) raised Polars' ColumnNotFoundError
    frame = vecloss.portfolio(10, seed=1)
    with pytest.raises(vecloss.InputError, match="missing column nope; found buildingId"):
        vecloss.run(frame, **asked)  # type: ignore[arg-type]


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_separated_by_other_than_commas_says_so(
    separator: str, name: str, tmp_path: Path
) -> None:
    path = tmp_path / "spreadsheet.csv"  # (as a spreadsheet writes it where 0,5 is a half)
    header = separator.join(
        ["buildingId", "floor_area", "construction_cost", "hazard_probability", "inflation_rate"]
    )
    path.write_text(f"{header}\nA{separator}100{separator}1000{separator}0.01{separator}0.02\n")
    with pytest.raises(InputError, match=f"its values are separated by {name}"):
        vecloss.read(path)


def test_a_header_with_spaces_after_its_commas_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "buildingId, floor_area, ..." as people type it: the names are " floor_area", ...
    path = tmp_path / "typed.csv"
    path.write_text(
        "buildingId, floor_area, construction_cost, hazard_probability, inflation_rate\n"
        "A, 100, 1000, 0.01, 0.02\n"
    )
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert "found buildingId, ' floor_area', ' construction_cost'," in err  # (the spaces shown)
    assert "hint: its column names have spaces around them (' floor_area' for floor_area)" in err
    path.write_text(path.read_text().replace(", ", ",", 4))  # the header alone mended
    assert main(["run", str(path)]) == 0  # (the spaces around the values are fine)


def test_an_empty_json_array_says_it_holds_no_buildings(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]\n")
    with pytest.raises(InputError, match="it holds no buildings at all"):
        vecloss.read(path)


@pytest.mark.parametrize("suffix", ["csv", "json", "ndjson"])
def test_a_file_not_in_utf8_says_so(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pl.DataFrame(
        {
            "buildingId": ["Zürich"],
            "floor_area": [100.0],
            "construction_cost": [1000.0],
            "hazard_probability": [0.01],
            "inflation_rate": [0.02],
        }
    )
    text = {
        "csv": frame.write_csv(),
        "json": frame.write_json(),
        "ndjson": frame.write_ndjson(),
    }[suffix]
    path = tmp_path / f"latin1.{suffix}"
    path.write_bytes(text.encode("latin-1"))  # (as an older spreadsheet saves it)
    with pytest.raises(InputError, match="this file is in another encoding"):
        vecloss.read(path)
    assert main(["run", str(path), "-o", str(tmp_path / f"out.{suffix}")]) == 1  # (streamed)
    assert "this file is in another encoding" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["run"], ["validate"], ["run", "--engine", "dask"]])
def test_ids_pandas_kept_as_a_range_index_are_named(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """pandas writes an index of ids 1, 2, 3, ... as metadata only, not as a column: the file
    has no buildingId, and the message says where it went and how to write it as a column."""
    pd = pytest.importorskip("pandas")
    if "dask" in argv:
        pytest.importorskip("distributed")
    path = tmp_path / "indexed.parquet"
    frame = vecloss.portfolio(4, seed=1, ids="sorted").to_pandas().set_index("buildingId")
    frame.to_parquet(path)
    assert pd.read_parquet(path).index.name == "buildingId"
    assert main([*argv, str(path)]) == 1
    err = capsys.readouterr().err
    assert "buildingId is not a column of the file: pandas wrote it as the frame's index" in err
    assert "(a RangeIndex, 1 to 4)" in err
    with pytest.raises(InputError, match=r"df\.to_parquet\(path, index=True\)"):
        vecloss.read(path)
    frame.to_parquet(path, index=True)  # the hint's way: the ids are a column, and read
    assert vecloss.read(path)["buildingId"].to_list() == [1, 2, 3, 4]
