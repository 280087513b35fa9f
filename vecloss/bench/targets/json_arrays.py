"""JSON arrays in three layouts against DuckDB's reader and ``json.load``; the same layouts
streamed by ``vecloss run`` in a fresh process, for its peak memory; what DuckDB's readers make
of a value whose type differs from their sample's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

import vecloss
from vecloss.bench.race import Scale, Target, cli_command, process, race
from vecloss.synthetic import iter_portfolio

#: A JSON array as people write it: ``json.dump(rows, indent=2)``; one line (``json.dump``
#: default, ``DataFrame.write_json``); one object a line (what vecloss and most exporters do).
LAYOUTS = ("pretty", "one line", "one object a line")


def write_array(path: Path, rows: int, layout: str, *, seed: int = 0) -> Path:
    """Write a seeded portfolio as one JSON array in ``layout`` (see :data:`LAYOUTS`), a
    million objects at a time. ``pretty`` is byte for byte what ``json.dump(rows,
    indent=2)`` writes for these numbers."""
    with path.open("wb") as file:
        file.write(
            b"[\n  " if layout == "pretty" else b"[\n" if layout == "one object a line" else b"["
        )
        for k, chunk in enumerate(iter_portfolio(rows, seed=seed)):
            lines = chunk.write_ndjson().rstrip("\n")
            if layout == "pretty":
                text = (
                    lines.replace('{"', '{\n    "')
                    .replace(',"', ',\n    "')
                    .replace('":', '": ')
                    .replace("}", "\n  }")
                    .replace("\n  }\n", "\n  },\n  ")
                )
                separator = ",\n  "
            elif layout == "one line":
                text, separator = lines.replace("\n", ", "), ", "
            else:
                text, separator = lines.replace("\n", ",\n"), ",\n"
            file.write((separator if k else "").encode() + text.encode())
        file.write(
            b"\n]" if layout == "pretty" else b"\n]\n" if layout == "one object a line" else b"]"
        )
    return path


def _arrow(con: Any, sql: str) -> Any:
    return con.sql(sql).to_arrow_table()


def _polars_of(con: Any, sql: str) -> pl.DataFrame:
    frame: pl.DataFrame = con.sql(sql).pl()
    return frame


def _json_load(path: Path) -> int:
    return len(json.loads(path.read_bytes()))


def json_arrays(scale: Scale, folder: Path, bar: Any) -> Iterator[Target]:
    import duckdb

    con = duckdb.connect()
    for layout in LAYOUTS:
        bar.set_postfix_str(f"JSON array, {layout}")
        path = write_array(folder / "array.json", scale.json_rows, layout, seed=5)
        sql = f"select * from read_json('{path}', format='array')"
        median, answers = race(
            {"vecloss": partial(vecloss.read, path), "duckdb": partial(_arrow, con, sql)},
            max(3, scale.repeat // 2),
        )
        loads, loaded = race({"json.load": partial(_json_load, path)}, 2)
        ours = answers["vecloss"]
        theirs = pl.from_arrow(answers["duckdb"])
        assert isinstance(theirs, pl.DataFrame)
        assert ours.equals(theirs.select(ours.columns)), layout
        assert loaded["json.load"] == ours.height, layout
        work = f"JSON array -> frame, {layout}"
        rows = scale.json_rows
        yield Target(
            work, rows, "duckdb read_json to Arrow", median["vecloss"], median["duckdb"], "s", 1.0
        )
        yield Target(work, rows, "json.load", median["vecloss"], loads["json.load"], "s", 0.25)
        if layout == "pretty":  # what keeping every value costs DuckDB, and Polars' parse alone
            lines = folder / "same.ndjson"
            ours.write_ndjson(lines)
            every = f"select * from read_json('{path}', format='array', sample_size=-1)"
            bounds, _ = race(
                {
                    "duckdb": partial(_arrow, con, sql),
                    "duckdb read_json, types from every row": partial(_arrow, con, every),
                    "polars read_ndjson, the same objects one a line": partial(
                        pl.read_ndjson, lines
                    ),
                },
                max(3, scale.repeat // 2),
            )
            for name in bounds:
                if name != "duckdb":
                    yield Target(
                        f"{work}: {name}",
                        rows,
                        "duckdb read_json to Arrow",
                        bounds[name],
                        bounds["duckdb"],
                        "s",
                        None,
                    )
            lines.unlink()
        path.unlink()
        bar.update()
    yield from _sampled_types(con, folder)


def _sampled_types(con: Any, folder: Path) -> Iterator[Target]:
    """What DuckDB's readers make of a 2.5 after 30,000 whole numbers in one column, with
    types from a sample (their default), beside what vecloss reads: measured here, not
    assumed, because it decides whether their speed is a bound for the same work."""
    rows = [
        {
            "buildingId": k,
            "floor_area": 2.5 if k == 30_001 else 100,
            "construction_cost": 1000.0,
            "hazard_probability": 0.1,
            "inflation_rate": 0.02,
        }
        for k in range(1, 30_002)
    ]
    for name, suffix, form in (
        ("read_json", "json", "array"),
        ("NDJSON", "ndjson", "newline_delimited"),
    ):
        path = folder / f"late.{suffix}"
        if suffix == "json":
            path.write_text(json.dumps(rows))
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        sql = f"select floor_area from read_json('{path}', format='{form}')"
        theirs = con.sql(sql).fetchall()[-1][0]
        ours = vecloss.read(path)["floor_area"][-1]
        path.unlink()
        yield Target(
            f"JSON -> frame: a 2.5 after 30,000 whole numbers, as duckdb {name} reads it "
            "(types from a sample)",
            len(rows),
            "duckdb",
            ours,
            theirs,
            "value",
            None,
        )


def streamed(scale: Scale, folder: Path, bar: Any) -> Iterator[Target]:
    totals = {}
    for layout in LAYOUTS:
        bar.set_postfix_str(f"JSON array streamed, {layout}")
        path = write_array(folder / "big.json", scale.stream_rows, layout, seed=6)
        _, peak, printed = process([*cli_command(), "run", str(path), "--json"])
        result = json.loads(printed)
        assert result["rows"] == scale.stream_rows, result
        totals[layout] = result["total_loss"]
        path.unlink()
        yield Target(
            f"JSON array streamed by vecloss run, {layout}: peak memory",
            scale.stream_rows,
            "-",
            peak,
            None,
            "MB",
            600.0,
        )
        bar.update()
    assert len(set(totals.values())) == 1, totals
