"""Database sources and outputs: SQLite always, PostgreSQL against a real server.

The PostgreSQL tests use ``VECLOSS_POSTGRES_URI`` (``.ci/run`` starts a server
on loopback and sets it). Locally they are skipped when it is unset; in CI
(``CI=true``) they must run, so a missing server fails them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import assert_matches_reference, portfolio
from vecloss import InputError, UsageError, ValidationError, run
from vecloss.api import validated
from vecloss.cli import main
from vecloss.io.database import connect

pytest.importorskip("adbc_driver_sqlite")


def regional(rows: int = 20_000) -> pl.DataFrame:
    frame = portfolio(rows, seed=31)
    return frame.with_columns(
        region=pl.Series(np.array(["EU", "US"])[frame["buildingId"].to_numpy() % 2])
    )


def load(uri: str, table: str, frame: pl.DataFrame) -> None:
    conn = connect(uri)
    try:
        cursor = conn.cursor()
        cursor.adbc_ingest(table, frame.to_arrow(), mode="replace")
        conn.commit()
    finally:
        conn.close()


def read_table(uri: str, table: str) -> pl.DataFrame:
    conn = connect(uri)
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT * FROM {table}")
        return pl.DataFrame(pl.from_arrow(cursor.fetch_arrow_table()))
    finally:
        conn.close()


def postgres_uri() -> str:
    uri = os.environ.get("VECLOSS_POSTGRES_URI")
    if uri:
        return uri
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the PostgreSQL tests: .ci/run sets VECLOSS_POSTGRES_URI")
    pytest.skip("no PostgreSQL server (set VECLOSS_POSTGRES_URI to run these)")


@pytest.fixture(params=["sqlite", "postgresql"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portfolio.db'}"
    pytest.importorskip("adbc_driver_postgresql")
    return postgres_uri()


def test_table_and_query_give_the_file_losses(uri: str, tmp_path: Path) -> None:
    frame = regional()
    load(uri, "buildings", frame)
    parquet = tmp_path / "p.parquet"
    frame.write_parquet(parquet)
    from_file = run(parquet, tmp_path / "f.parquet")
    from_table = run(uri, tmp_path / "t.parquet", table="buildings", batch_rows=3_000)
    assert (from_table.rows, from_table.total_loss) == (from_file.rows, from_file.total_loss)
    written = pl.read_parquet(tmp_path / "t.parquet")
    assert written.equals(pl.read_parquet(tmp_path / "f.parquet"))
    eu = run(uri, tmp_path / "q.parquet", query="SELECT * FROM buildings WHERE region = 'EU'")
    expected = validated(frame.filter(pl.col("region") == "EU"))
    got = pl.read_parquet(tmp_path / "q.parquet")
    assert eu.rows == expected.height == got.height
    assert_matches_reference(expected, got.sort("buildingId")["loss"])


def test_write_back_replaces_the_table_in_one_transaction(uri: str, tmp_path: Path) -> None:
    frame = regional(5_000)
    load(uri, "buildings", frame)
    load(uri, "losses", pl.DataFrame({"old": [1]}))
    summary = run(uri, uri, table="buildings", output_table="losses", batch_rows=1_000)
    written = read_table(uri, "losses")
    assert written.columns == ["buildingId", "loss"]
    assert written.height == summary.rows == 5_000
    assert_matches_reference(validated(frame), written.sort("buildingId")["loss"])
    bad = frame.with_columns(
        floor_area=pl.when(pl.col("buildingId") == 4_999).then(-1.0).otherwise(pl.col("floor_area"))
    )
    load(uri, "dirty", bad)
    with pytest.raises(ValidationError, match="floor_area: out_of_range"):
        run(uri, uri, table="dirty", output_table="losses", batch_rows=1_000)
    assert read_table(uri, "losses").height == 5_000  # the old table stands


def test_cli_with_a_database(uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load(uri, "buildings", regional(1_000))
    assert main(["run", uri, "--table", "buildings", "--group-by", "region", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["rows"] == 1_000
    assert {g["region"] for g in summary["groups"]} == {"EU", "US"}
    assert main(["validate", uri, "--query", "SELECT * FROM buildings WHERE region = 'US'"]) == 0
    assert "500 rows, no problems" in capsys.readouterr().out
    parquet = tmp_path / "p.parquet"
    regional(1_000).write_parquet(parquet)
    for source, extra, out in (
        (uri, ["--table", "buildings"], "t.csv"),
        (str(parquet), [], "f.csv"),
    ):
        assert main(["run", source, *extra, "-o", str(tmp_path / out)]) == 0
    from_table, from_file = pl.read_csv(tmp_path / "t.csv"), pl.read_csv(tmp_path / "f.csv")
    assert from_table["buildingId"].equals(from_file["buildingId"])
    np.testing.assert_allclose(
        from_table["loss"].to_numpy(), from_file["loss"].to_numpy(), rtol=1e-12, atol=0
    )


def test_database_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'p.db'}"
    load(uri, "buildings", regional(10).drop("hazard_probability"))
    with pytest.raises(UsageError, match="name a table or a query"):
        run(uri)
    with pytest.raises(UsageError, match="invalid table name"):
        run(uri, table="buildings; drop table x")
    with pytest.raises(InputError, match="the query failed"):
        run(uri, table="nowhere")
    assert main(["run", uri, "--table", "buildings"]) == 1
    assert "missing column hazard_probability" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "x.parquet"), "--table", "t"]) == 2
    assert "go with a database source" in capsys.readouterr().err


def _one_line_error(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line run with ``args``, which must fail with exit 1 and a one-line message."""
    process = subprocess.run(
        [sys.executable, "-m", "vecloss", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 1, process.stderr
    assert len(process.stderr.strip().splitlines()) == 1, process.stderr
    return process


def test_a_refused_login_is_one_line_without_the_password() -> None:
    pytest.importorskip("adbc_driver_postgresql")
    uri = postgres_uri()
    scheme, rest = uri.split("://", 1)
    user, host = rest.split("@", 1)
    wrong = f"{scheme}://{user.split(':', 1)[0]}:not-the-password@{host}"
    process = _one_line_error("run", wrong, "--table", "t")
    assert "cannot connect" in process.stderr  # (libpq's message ends in a newline)
    assert "not-the-password" not in process.stderr


def _numeric_query(rows: str) -> str:
    """The portfolio's columns as PostgreSQL's NUMERIC (money, as databases keep it), which
    ADBC hands over as text in an extension type."""
    return (
        'SELECT "buildingId", floor_area::numeric(12, 2) AS floor_area, '
        "construction_cost::numeric(14, 2) AS construction_cost, "
        "hazard_probability::numeric AS hazard_probability, "
        f"inflation_rate::numeric AS inflation_rate, 12.50::numeric AS extra FROM {rows}"
    )


def test_postgresql_numeric_columns_are_numbers(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    uri = postgres_uri()
    frame = regional(5_000).with_columns(
        pl.col("floor_area").round(2), pl.col("construction_cost").round(2)
    )
    load(uri, "numeric_source", frame)
    got = run(uri, tmp_path / "n.parquet", query=_numeric_query("numeric_source"), keep=["extra"])
    expected = run(frame, tmp_path / "f.parquet")
    assert (got.rows, got.total_loss) == (expected.rows, expected.total_loss)
    written = pl.read_parquet(tmp_path / "n.parquet")
    assert written["loss"].equals(pl.read_parquet(tmp_path / "f.parquet")["loss"])
    assert written["extra"].unique().to_list() == ["12.50"]  # (a kept NUMERIC stays exact: text)
    # PostgreSQL's NUMERIC has a NaN: a row set aside with its reason, as a file's NaN is
    nan = _numeric_query("numeric_source").replace(
        "construction_cost::numeric(14, 2) AS construction_cost",
        """CASE WHEN "buildingId" = 3 THEN 'NaN'::numeric """
        "ELSE construction_cost::numeric(14, 2) END AS construction_cost",
    )
    with pytest.raises(ValidationError, match="construction_cost: not_finite"):
        run(uri, query=nan)


def _series(ids: str, cost: str, rows: int, *extra: str) -> str:
    """A PostgreSQL query of ``rows`` buildings n = 1, 2, ...: ids and costs computed from n."""
    columns = [
        f'{ids} AS "buildingId"',
        "100.0::float8 AS floor_area",
        f"({cost})::float8 AS construction_cost",
        "0.01::float8 AS hazard_probability",
        "0.02::float8 AS inflation_rate",
        *extra,
    ]
    return f"SELECT {', '.join(columns)} FROM generate_series(1, {rows}) AS n"


def test_a_query_that_fails_after_its_first_rows_is_one_line_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    uri = postgres_uri()
    query = _series("n", "1000.0 / (n - 300000)", 400_000)
    out = tmp_path / "out.parquet"
    process = _one_line_error("run", uri, "--query", query, "-o", str(out), "--batch-rows", "50000")
    assert "the query failed" in process.stderr
    assert "division by zero" in process.stderr
    assert "hint: check the table or query" in process.stderr
    assert not out.exists()


def test_postgresql_uuid_ids_are_their_text(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    uri = postgres_uri()
    query = _series("md5(n::text)::uuid", "1000 + n", 2_000, "md5(n::text)::uuid::text AS printed")
    run(uri, tmp_path / "u.parquet", query=query, keep=["printed"])
    written = pl.read_parquet(tmp_path / "u.parquet")
    assert written.height == 2_000
    assert written["buildingId"].equals(written["printed"], check_names=False)  # PostgreSQL's text
    repeated = query.replace("md5(n::text)::uuid AS", "md5((n % 1999)::text)::uuid AS")
    with pytest.raises(ValidationError, match="duplicate_id"):
        run(uri, query=repeated)


def test_a_sqlite_column_whose_type_changes_after_the_first_batch_says_how_to_cast(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "mixed.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TABLE b (buildingId, floor_area, construction_cost, "
            "hazard_probability, inflation_rate)"
        )
        rows = [(i, 100.0, 1000.0 + i, 0.01, 0.02) for i in range(1, 3_000)]
        rows[2_500] = ("X-1", 100.0, 1000.0, 0.01, 0.02)  # (SQLite takes any value anywhere)
        conn.executemany("INSERT INTO b VALUES (?, ?, ?, ?, ?)", rows)
        conn.commit()
    uri = f"sqlite:///{path}"
    with pytest.raises(InputError, match=r"Type mismatch.*CAST\(buildingId AS TEXT\)"):
        run(uri, table="b", batch_rows=1_000)
    cast = "SELECT CAST(buildingId AS TEXT) AS buildingId, floor_area, construction_cost, "
    cast += "hazard_probability, inflation_rate FROM b"
    assert run(uri, query=cast, batch_rows=1_000).rows == 2_999  # (the hint's way works)
