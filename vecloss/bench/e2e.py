"""End-to-end races on files: Parquet -> losses Parquet or total; JSON, CSV, NDJSON -> frame.

Each task runs vecloss and its peers on the same seeded file, checks that they
agree, and reports the median over the repeats.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.api import read
from vecloss.bench.contenders import duckdb_sql, polars_expr
from vecloss.bench.harness import progress
from vecloss.io.parquet import iter_batches
from vecloss.io.sink import Output
from vecloss.run.runner import run
from vecloss.run.worker import DEFAULT_BATCH_ROWS
from vecloss.schema import COLUMNS
from vecloss.synthetic import generate

__all__ = ["EndToEnd", "measure_end_to_end"]


@dataclass
class EndToEnd:
    """One contender at one end-to-end task."""

    task: str
    contender: str
    rows: int
    seconds: float
    min_seconds: float
    max_seconds: float
    repeats: int
    ratio_to_vecloss: float = float("nan")

    def row(self) -> dict[str, Any]:
        return asdict(self)


#: vecloss's Parquet reader alone over the five columns: what bounds Parquet -> total.
READ_ONLY = "vecloss reader alone"


def _read_only(src: Path) -> int:
    """Decode the schema's columns of ``src`` as ``vecloss run`` does, and nothing else."""
    names = [c.name for c in COLUMNS]
    return sum(b.height for b in iter_batches(src, batch_rows=DEFAULT_BATCH_ROWS, columns=names))


#: vecloss's Parquet output path alone (batches, writer thread, atomic rename).
WRITE_ONLY = "vecloss writer alone"


def _write_only(frame: pl.DataFrame, path: Path) -> int:
    """Write ``frame`` (ids and losses) as ``vecloss run -o`` does, and nothing else."""
    with Output(path) as output:
        for start in range(0, frame.height, DEFAULT_BATCH_ROWS):
            output.write(frame.slice(start, DEFAULT_BATCH_ROWS))
    return frame.height


#: The text formats raced to a frame beside JSON arrays, at the JSON size.
TEXT = ("csv", "ndjson")


def _median_run(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def measure_end_to_end(
    parquet_rows: int, json_rows: int, *, repeat: int = 3, workers: int | None = None
) -> list[EndToEnd]:
    """Run the end-to-end tasks; raise if any contender disagrees with vecloss."""
    import duckdb

    results: list[EndToEnd] = []
    expr = polars_expr("complex", 10, 0.05)
    with tempfile.TemporaryDirectory(prefix="vecloss-bench-") as tmp:
        folder = Path(tmp)
        src = generate(parquet_rows, folder / "portfolio.parquet")
        doc = generate(json_rows, folder / "portfolio.json")
        text = {suffix: generate(json_rows, folder / f"portfolio.{suffix}") for suffix in TEXT}
        con = duckdb.connect()
        if workers:
            con.execute(f"set threads = {workers}")
        query = duckdb_sql("complex", 10, 0.05).replace(
            "from portfolio", f"from read_parquet('{src}')"
        )
        loss_sql = query.replace("select ", "select buildingId, ", 1)
        total_sql = query.replace("select ", "select sum(", 1).replace(" as loss", ") as total")
        out = {name: folder / f"{name}.parquet" for name in ("vecloss", "polars", "duckdb")}
        written = pl.read_parquet(src, columns=["buildingId", "floor_area"]).rename(
            {"floor_area": "loss"}  # the output's shape, read before the clock starts
        )
        tasks: dict[str, dict[str, Callable[[], Any]]] = {
            "parquet->losses parquet": {
                "vecloss": lambda: run(src, out["vecloss"], workers=workers),
                "polars": lambda: (
                    pl.scan_parquet(src).select("buildingId", expr).sink_parquet(out["polars"])
                ),
                "duckdb": lambda: con.execute(
                    f"copy ({loss_sql}) to '{out['duckdb']}' (format parquet)"
                ),
                WRITE_ONLY: lambda: _write_only(written, folder / "written.parquet"),
            },
            "parquet->total": {
                "vecloss": lambda: run(src, workers=workers).total_loss,
                "duckdb": lambda: con.sql(total_sql).fetchall()[0][0],
                "polars": lambda: pl.scan_parquet(src).select(expr.sum()).collect().item(),
                READ_ONLY: lambda: _read_only(src),
            },
            "json array->frame": {
                "vecloss": lambda: read(doc).height,
                "json.load": lambda: len(json.loads(doc.read_bytes())),
                "polars.read_json": lambda: pl.read_json(doc).height,
            },
            "csv->frame": {
                "vecloss": lambda: read(text["csv"]).height,
                "polars.read_csv": lambda: pl.read_csv(text["csv"]).height,
            },
            "ndjson->frame": {
                "vecloss": lambda: read(text["ndjson"]).height,
                "polars.read_ndjson": lambda: pl.read_ndjson(text["ndjson"]).height,
            },
        }
        bar = progress(sum(len(t) for t in tasks.values()), "end to end")
        for task, contenders in tasks.items():
            answers: dict[str, Any] = {}
            rows = parquet_rows if task.startswith("parquet") else json_rows
            for name, fn in contenders.items():
                bar.set_postfix_str(f"{task}: {name}")
                times, answers[name] = _median_run(fn, repeat)
                results.append(
                    EndToEnd(
                        task, name, rows, statistics.median(times), min(times), max(times), repeat
                    )
                )
                bar.update()
            _check(task, answers, out)
        bar.close()
        con.close()
    base = {r.task: r.seconds for r in results if r.contender == "vecloss"}
    for r in results:
        r.ratio_to_vecloss = r.seconds / base[r.task]
    return results


def _check(task: str, answers: dict[str, Any], out: dict[str, Path]) -> None:
    if task == "parquet->losses parquet":
        assert (
            answers.pop(WRITE_ONLY)
            == pl.scan_parquet(out["vecloss"]).select(pl.len()).collect().item()
        )
        ours = pl.read_parquet(out["vecloss"]).sort("buildingId")  # (DuckDB: any order)
        for name in ("polars", "duckdb"):
            theirs = pl.read_parquet(out[name]).sort("buildingId")
            assert theirs["buildingId"].equals(ours["buildingId"]), name
            np.testing.assert_allclose(
                theirs["loss"].to_numpy(), ours["loss"].to_numpy(), rtol=1e-12
            )
    elif task == "parquet->total":
        rows = pl.scan_parquet(out["vecloss"]).select(pl.len()).collect().item()
        assert answers.pop(READ_ONLY) == rows, READ_ONLY
        for name, total in answers.items():
            assert abs(total - answers["vecloss"]) <= 1e-9 * answers["vecloss"], (name, total)
    else:
        assert len(set(answers.values())) == 1, answers
