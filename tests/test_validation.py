"""Every kind of bad input gets one clear message and the right exit code.

Each case writes a small file, runs the command line in-process, and checks the
exit code, that the message names the file, the column and the building ids
(or rows), and that no traceback is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import EXAMPLE
from vecloss import ValidationError, read, run
from vecloss.cli import main

HEADER = "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate\n"
GOOD = [
    {
        "buildingId": 1,
        "floor_area": 2000,
        "construction_cost": 1200,
        "hazard_probability": 0.1,
        "inflation_rate": 0.03,
    },
    {
        "buildingId": 2,
        "floor_area": 1500,
        "construction_cost": 1300,
        "hazard_probability": 0.2,
        "inflation_rate": 0.04,
    },
    {
        "buildingId": 3,
        "floor_area": 1800,
        "construction_cost": 1400,
        "hazard_probability": 0.15,
        "inflation_rate": 0.02,
    },
]


def rows_with(building: int, **changes: object) -> str:
    rows = [dict(r) for r in GOOD]
    rows[building - 1].update(changes)
    return json.dumps(rows)


# (name, file name, content, extra args, exit code, fragments the message must hold)
CASES: list[tuple[str, str, str, list[str], int, list[str]]] = [
    (
        "truncated JSON",
        "p.json",
        '[{"buildingId": 1, "floor_area": ',
        [],
        1,
        ["p.json", "cannot read JSON"],
    ),
    (
        "JSON object, not array",
        "p.json",
        '{"buildingId": 1}',
        [],
        1,
        ["p.json", "found one object, not an array of them"],
    ),
    ("JSON array of numbers", "p.json", "[1, 2, 3]", [], 1, ["p.json", "cannot read JSON"]),
    ("empty JSON file", "p.json", "", [], 1, ["p.json", "empty file"]),
    ("empty CSV file", "p.csv", "", [], 1, ["p.csv", "empty"]),
    ("empty NDJSON file", "p.ndjson", "", [], 1, ["p.ndjson", "empty"]),
    (
        "not a Parquet file",
        "p.parquet",
        "this is text",
        [],
        1,
        ["p.parquet", "cannot read Parquet"],
    ),
    ("not an Arrow file", "p.arrow", "this is text", [], 1, ["p.arrow", "cannot read Arrow"]),
    (
        "missing column, near name",
        "p.json",
        json.dumps(
            [
                {k.replace("hazard_probability", "hazard_prob"): v for k, v in r.items()}
                for r in GOOD
            ]
        ),
        [],
        1,
        ["p.json", "missing column hazard_probability", "did you mean 'hazard_prob'"],
    ),
    (
        "missing id column",
        "p.csv",
        "floor_area,construction_cost,hazard_probability,inflation_rate\n1,2,0.1,0.01\n",
        [],
        1,
        ["p.csv", "missing column buildingId"],
    ),
    (
        "non-numeric JSON value",
        "p.json",
        rows_with(2, floor_area="big"),
        [],
        1,
        ["p.json", "floor_area: not_numeric", "buildingId 2"],
    ),
    (
        "non-numeric CSV value",
        "p.csv",
        HEADER + "1,100,1000,0.1,0.02\n2,100,12O0,0.1,0.02\n",
        [],
        1,
        ["p.csv", "construction_cost: not_numeric", "buildingId 2"],
    ),
    (
        "null value",
        "p.json",
        rows_with(3, construction_cost=None),
        [],
        1,
        ["construction_cost: null", "buildingId 3"],
    ),
    (
        "missing value in CSV",
        "p.csv",
        HEADER + "1,100,1000,,0.02\n",
        [],
        1,
        ["hazard_probability: null", "buildingId 1"],
    ),
    (
        "NaN in JSON",
        "p.json",
        rows_with(1, inflation_rate=float("nan")),
        [],
        1,
        ["inflation_rate: not_finite", "buildingId 1"],
    ),
    (
        "Infinity in CSV",
        "p.csv",
        HEADER + "1,inf,1000,0.1,0.02\n",
        [],
        1,
        ["floor_area: not_finite", "buildingId 1"],
    ),
    (
        "-inf in NDJSON as text",
        "p.ndjson",
        '{"buildingId":7,"floor_area":10,"construction_cost":"-inf","hazard_probability":0.1,"inflation_rate":0}\n',
        [],
        1,
        ["construction_cost: not_finite", "buildingId 7"],
    ),
    (
        "number too big for float64",
        "p.csv",
        HEADER + "1,1e400,1000,0.1,0.02\n",
        [],
        1,
        ["floor_area: not_finite"],
    ),
    (
        "zero floor area",
        "p.json",
        rows_with(2, floor_area=0),
        [],
        1,
        ["floor_area: out_of_range (must be > 0)", "buildingId 2"],
    ),
    (
        "negative cost",
        "p.json",
        rows_with(1, construction_cost=-5),
        [],
        1,
        ["construction_cost: out_of_range (must be >= 0)", "buildingId 1"],
    ),
    (
        "probability above 1",
        "p.json",
        rows_with(3, hazard_probability=1.5),
        [],
        1,
        ["hazard_probability: out_of_range (must be 0 <= p <= 1)", "buildingId 3"],
    ),
    (
        "inflation of -100 %",
        "p.json",
        rows_with(2, inflation_rate=-1),
        [],
        1,
        ["inflation_rate: out_of_range (must be > -1)", "buildingId 2"],
    ),
    (
        "duplicate id",
        "p.json",
        rows_with(3, buildingId=1),
        [],
        1,
        ["buildingId: duplicate_id", "buildingId 1"],
    ),
    ("null id", "p.json", rows_with(2, buildingId=None), [], 1, ["buildingId: null", "row 2"]),
    (
        "float ids",
        "p.json",
        rows_with(1, buildingId=1.5),
        [],
        1,
        ["column buildingId has type Float64", ".astype('Int64') in pandas"],
    ),
    (
        "nested values",
        "p.json",
        json.dumps([{**r, "floor_area": [1, 2]} for r in GOOD]),
        [],
        1,
        ["column floor_area has type List"],
    ),
    (
        "a list among numbers",
        "p.json",
        rows_with(1, floor_area=[1, 2]),
        [],
        1,
        ["p.json", "incompatible kinds of value"],
    ),
    (
        "loss overflow",
        "p.json",
        rows_with(2, inflation_rate=1000.0),
        [],
        1,
        ["loss: loss_overflow", "buildingId 2"],
    ),
    ("unsupported suffix", "p.xlsx", "x", [], 1, ["p.xlsx", "unsupported suffix '.xlsx'"]),
    (
        "negative years",
        "p.json",
        json.dumps(GOOD),
        ["--years", "-1"],
        2,
        ["years must be an integer >= 0"],
    ),
    (
        "fractional years",
        "p.json",
        json.dumps(GOOD),
        ["--years", "2.5"],
        2,
        ["years must be an integer"],
    ),
    (
        "discount rate -100 %",
        "p.json",
        json.dumps(GOOD),
        ["--discount-rate", "-1"],
        2,
        ["discount rate must be finite and > -1"],
    ),
    (
        "discount rate not a number",
        "p.json",
        json.dumps(GOOD),
        ["--discount-rate", "five"],
        2,
        ["discount rate must be a number"],
    ),
    (
        "several problems at once",
        "p.json",
        json.dumps(
            [
                GOOD[0],
                {**GOOD[1], "floor_area": -1, "hazard_probability": 2},
                {**GOOD[2], "buildingId": 1},
            ]
        ),
        [],
        1,
        [
            "2 rows break the schema",
            "floor_area: out_of_range",
            "hazard_probability: out_of_range",
            "duplicate_id",
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "filename", "content", "args", "code", "fragments"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    filename: str,
    content: str,
    args: list[str],
    code: int,
    fragments: list[str],
) -> None:
    path = tmp_path / filename
    path.write_text(content)
    out = tmp_path / "losses.parquet"
    with pytest.raises(SystemExit) if code == 2 and "--" in " ".join(args) else _no_raise():
        assert main(["run", str(path), "-o", str(out), *args]) == code
    captured = capsys.readouterr()
    for fragment in fragments:
        assert fragment in captured.err, (name, captured.err)
    assert "Traceback" not in captured.err
    assert not out.exists()


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_directory_instead_of_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert main(["run", str(folder)]) == 1
    assert "no Parquet files found" in capsys.readouterr().err


def test_the_api_raises_the_same_message(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(rows_with(2, floor_area=0))
    with pytest.raises(ValidationError) as info:
        read(path)
    assert "floor_area: out_of_range" in str(info.value)
    assert info.value.failures.to_dicts() == [
        {
            "column": "floor_area",
            "reason": "out_of_range",
            "count": 1,
            "examples": ["buildingId 2 (0.0)"],
            "hint": "check the units and sign",
        }
    ]


def test_many_bad_rows_show_the_first_few_and_a_count(tmp_path: Path) -> None:
    rows = [{**GOOD[0], "buildingId": k, "hazard_probability": 3} for k in range(1, 41)]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(
        ValidationError,
        match=r"40 rows: buildingId 1 \(3\.0\), buildingId 2 \(3\.0\), buildingId 3 \(3\.0\), "
        r"buildingId 4 \(3\.0\), buildingId 5 \(3\.0\) \(\+35 more\)",
    ):
        run(path)


def test_fail_mode_reports_problems_from_every_batch(tmp_path: Path) -> None:
    frame = read(EXAMPLE).with_columns(
        floor_area=pl.when(pl.col("buildingId").is_in([1, 5]))
        .then(-1.0)
        .otherwise(pl.col("floor_area"))
    )
    path = tmp_path / "p.parquet"
    frame.write_parquet(path)
    with pytest.raises(
        ValidationError,
        match=r"floor_area: out_of_range \(must be > 0\), 2 rows: buildingId 1 \(-1\.0\), "
        r"buildingId 5 \(-1\.0\)",
    ):
        run(path, batch_rows=2)


def test_duplicates_across_batches_are_found(tmp_path: Path) -> None:
    frame = pl.concat([read(EXAMPLE), read(EXAMPLE).head(1)])
    path = tmp_path / "p.parquet"
    frame.write_parquet(path)
    with pytest.raises(ValidationError, match=r"buildingId: duplicate_id, 1 row: buildingId 1"):
        run(path, batch_rows=2)


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps([GOOD[0], {**GOOD[1], "floor_area": 0}, {**GOOD[2], "buildingId": 1}])
    )
    before = path.read_bytes()
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "2 of 3 rows break the schema" in out
    assert "floor_area: out_of_range (must be > 0), 1 row: buildingId 2" in out
    assert "buildingId: duplicate_id" in out
    assert main(["validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["valid"] is False
    assert (report["rows"], report["rejected"]) == (3, 2)
    assert {p["reason"] for p in report["problems"]} == {"out_of_range", "duplicate_id"}
    assert path.read_bytes() == before


@pytest.mark.parametrize("batch_rows", [1, 2, 500_000])
def test_examples_show_the_value_that_broke_the_rule(
    tmp_path: Path, batch_rows: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A thousands separator, a percentage, a currency sign, a sign: the value in the message
    tells at once what is wrong; reasons about the row, not a value (null, a repeat), show the
    id alone. Read whole and streamed alike."""
    path = tmp_path / "p.csv"
    path.write_text(
        "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate\n"
        'A1,"1,200.5",1200,0.1,3%\n'
        'A2,1500,"$1,300",0.2,0.04\n'
        "A3,-4,1100,,0.02\n"
        "A1,1000,1000,0.1,0.02\n"
        'A4,"12\n00",1000,0.1,0.02\n'
    )
    assert main(["validate", str(path)]) == 1
    said = capsys.readouterr().out
    assert "inflation_rate: not_numeric, 1 row: buildingId A1 (3%);" in said
    assert "construction_cost: not_numeric, 1 row: buildingId A2 ($1,300);" in said
    assert "floor_area: out_of_range (must be > 0), 1 row: buildingId A3 (-4.0);" in said
    assert "hazard_probability: null, 1 row: buildingId A3;" in said
    assert "buildingId: duplicate_id, 1 row: buildingId A1;" in said
    assert "floor_area: not_numeric, 2 rows: buildingId A1 (1,200.5), buildingId A4 (12 00)" in said
    with pytest.raises(ValidationError) as streamed:
        run(path, batch_rows=batch_rows)
    lines = str(streamed.value).splitlines()[1:]  # (the same lines at every batch size)
    assert lines[:-1] == said.splitlines()[1:]
