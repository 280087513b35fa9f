"""Parquet to a total against DuckDB's SQL (with the bounds beside it: each reader alone, the
same work as one DuckDB or Polars query, the CPU time of each step, the floor of any pipeline),
and Parquet to per-building Parquet against Polars' ``sink_parquet``.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import vecloss
from vecloss.bench.contenders import duckdb_sql, polars_expr
from vecloss.bench.race import Scale, Target, race, same, turns
from vecloss.kernels.blocks import jit_available
from vecloss.schema import REQUIRED
from vecloss.synthetic import generate

#: The checked work of Parquet -> total at its cheapest: the compiled kernel's fused pass.
CHECKED = "the formula, every check and the ids' order, compiled (one fused pass)"


def _batches(src: Path, columns: list[str]) -> Iterator[pl.DataFrame]:
    """``src`` decoded by vecloss's Parquet reader in a run's batches (the schema's columns)."""
    from vecloss.io.parquet import iter_batches
    from vecloss.run.worker import DEFAULT_BATCH_ROWS

    return iter_batches(src, batch_rows=DEFAULT_BATCH_ROWS, columns=columns)


def _decoded(src: Path, columns: list[str]) -> int:
    """Rows of ``src`` decoded by vecloss's Parquet reader, nothing more."""
    return sum(b.height for b in _batches(src, columns))


def _checked_pass(batches: list[pl.DataFrame]) -> float:
    """What a run does with decoded batches: check them, compute the loss, add the total."""
    from vecloss.checks.ids import SeenIds
    from vecloss.kernels import Kernel
    from vecloss.run.batch import check_batch
    from vecloss.run.total import Total
    from vecloss.scenario import Scenario

    scenario, kernel, seen, total, first = Scenario(), Kernel(), SeenIds(), Total(), 1
    for batch in batches:
        checked = check_batch(batch, scenario, kernel, row_offset=first, seen=seen)
        assert not checked.rejected.height
        total.add(checked.losses[0])
        first += batch.height
    return total.value


def _formula(batches: list[pl.DataFrame], jit: bool) -> float:
    """The loss formula alone (no checks, no total) over the decoded batches."""
    from vecloss.chunks import aligned_views
    from vecloss.formulas import INPUTS
    from vecloss.kernels.blocks import vectorized_losses

    return sum(
        float(vectorized_losses(aligned_views([b[c] for c in INPUTS]), jit=jit)[-1])
        for b in batches
    )


def _checked_formula(batches: list[pl.DataFrame]) -> float:
    """The formula with every numeric check and the ids' order, in the compiled kernel's one
    fused pass per batch: the checked work at its cheapest (no row named, no exact total)."""
    from vecloss.chunks import aligned_views
    from vecloss.formulas import INPUTS
    from vecloss.kernels.blocks import checked_losses
    from vecloss.schema import ID

    last = 0.0
    for batch in batches:
        *views, ids = aligned_views([batch[c] for c in (*INPUTS, ID)])
        checked = checked_losses(dict(zip(INPUTS, views, strict=True)), ids=ids, jit=True)
        assert checked.ok
        assert checked.increasing
        last += float(checked.loss[-1])
    return last


def _one_pass(batches: list[pl.DataFrame]) -> float:
    """The least a pipeline does with what it decodes: read every value once (a sum)."""
    from vecloss.chunks import pieces

    return sum(
        float(np.add.reduce(chunk.to_numpy()))
        for batch in batches
        for column in batch.iter_columns()
        for chunk in pieces(column)
    )


def _same_work(src: Path, columns: list[str], query: str, expr: pl.Expr) -> dict[str, Any]:
    """vecloss's work on the file as another engine's one query: the five columns decoded,
    each column's range (and the ids' order) found, the loss summed. (Lower bounds: nothing
    names the rows that break a rule, or makes the total independent of the threads.)"""
    loss = query.split("select ", 1)[1].split(" as loss")[0]
    ranges = ", ".join(f"min({c}), max({c}), count({c})" for c in columns)
    sql = f"select sum({loss}), {ranges} from read_parquet('{src}')"
    polars = pl.scan_parquet(src).select(
        expr.sum(),
        *(pl.col(c).min().alias(f"{c} low") for c in columns),
        *(pl.col(c).max().alias(f"{c} high") for c in columns),
        *(pl.col(c).null_count().alias(f"{c} nulls") for c in columns),
        pl.col(columns[0]).diff().min().alias("least step"),
    )
    return {
        "duckdb": sql,
        "polars": lambda: polars.collect(engine="streaming").item(0, 0),
    }


def _cpu_race(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median CPU seconds (user + system, every thread of this process) per call of each."""
    import resource

    def used() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    for fn in fns.values():  # warm-up: imports, pools, compiled kernels
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name in turns(list(fns), repeat):
        before = used()
        fns[name]()
        times[name].append(used() - before)
    return {name: statistics.median(t) for name, t in times.items()}


def duckdb_connection(workers: int | None) -> Any:
    """A DuckDB connection on ``workers`` threads (all the cores with None)."""
    import duckdb

    con = duckdb.connect()
    if workers:
        con.execute(f"set threads = {workers}")
    return con


def parquet_targets(scale: Scale, folder: Path, workers: int | None, bar: Any) -> Iterator[Target]:
    """Parquet -> total and Parquet -> per-building Parquet, on sorted integer ids."""
    import pyarrow.parquet as pq

    con = duckdb_connection(workers)
    columns = list(REQUIRED)  # the five columns a run reads
    src = generate(scale.parquet_rows, folder / "portfolio.parquet", seed=7, ids="sorted")
    expr = polars_expr("complex", 10, 0.05)
    query = duckdb_sql("complex", 10, 0.05).replace("from portfolio", f"from read_parquet('{src}')")
    total_sql = query.replace("select ", "select sum(", 1).replace(" as loss", ") as total")
    out = {name: folder / f"{name}.parquet" for name in ("vecloss", "polars", "duckdb")}

    def fresh(name: str) -> Path:
        out[name].unlink(missing_ok=True)
        return out[name]

    bar.set_postfix_str("Parquet -> total")
    same_work = _same_work(src, columns, query, expr)
    median, answers = race(
        {
            "vecloss": lambda: vecloss.run(src, workers=workers).total_loss,
            "duckdb": lambda: con.sql(total_sql).fetchall()[0][0],
            "polars scan -> sum": lambda: pl.scan_parquet(src).select(expr.sum()).collect().item(),
            "the same work in DuckDB's SQL": lambda: con.sql(same_work["duckdb"]).fetchall()[0][0],
            "the same work as one Polars query": same_work["polars"],
            "polars read_parquet alone": lambda: pl.read_parquet(src, columns=columns).height,
            "duckdb to Arrow alone": lambda: (
                con.sql(f"select * from read_parquet('{src}')").to_arrow_table().num_rows
            ),
            "pyarrow read_table alone": lambda: pq.read_table(src, columns=columns).num_rows,
            "vecloss reader alone": partial(_decoded, src, columns),
        },
        max(3, scale.repeat // 2),
    )
    batches = list(_batches(src, columns))
    cpu = _cpu_race(
        {
            "vecloss": lambda: vecloss.run(src, workers=workers).total_loss,
            "duckdb": lambda: con.sql(total_sql).fetchall()[0][0],
            "vecloss reader alone": partial(_decoded, src, columns),
            "polars read_parquet alone": lambda: pl.read_parquet(src, columns=columns).height,
            "pyarrow read_table alone": lambda: pq.read_table(src, columns=columns).num_rows,
            "vecloss's checks, kernel and total alone": partial(_checked_pass, batches),
            "one NumPy pass over the decoded columns": partial(_one_pass, batches),
            "the formula alone over the decoded columns, NumPy": partial(_formula, batches, False),
            **(
                {
                    "the formula alone over the decoded columns, compiled": partial(
                        _formula, batches, True
                    ),
                    CHECKED: partial(_checked_formula, batches),
                }
                if jit_available()
                else {}
            ),
        },
        max(3, scale.repeat // 2),
    )
    del batches
    for name in ("duckdb", "polars scan -> sum", *(n for n in answers if "same work" in n)):
        assert abs(answers[name] - answers["vecloss"]) <= 1e-9 * answers["vecloss"], name
    rows = scale.parquet_rows
    for limit in (1.0, 1.1):  # (1.1: the target of the issue on realistic ids)
        yield Target(
            "Parquet -> total", rows, "duckdb sum", median["vecloss"], median["duckdb"], "s", limit
        )
    for name in median:
        if name not in ("vecloss", "duckdb"):
            assert "sum" in name or "same work" in name or answers[name] == rows, name
            yield Target(
                f"Parquet -> total: {name}",
                rows,
                "duckdb sum",
                median[name],
                median["duckdb"],
                "s",
                None,
            )
    for name in cpu:  # the whole process's CPU
        if name != "duckdb":
            yield Target(
                f"Parquet -> total: {name}, CPU time",
                rows,
                "duckdb sum, CPU time",
                cpu[name],
                cpu["duckdb"],
                "s",
                None,
            )
    cores = workers or os.cpu_count() or 1
    fastest = min(cpu[name] for name in cpu if name.startswith("the formula alone"))
    floors = [
        ("one pass over what it decodes", cpu["one NumPy pass over the decoded columns"]),
        ("the formula over what it decodes, by the fastest kernel", fastest),
    ]
    if CHECKED in cpu:
        floors.append(("the formula and every check, by the fastest kernel", cpu[CHECKED]))
    for work, seconds in floors:
        yield Target(
            f"Parquet -> total: floor (the fastest reader's CPU and {work}, shared by {cores} "
            "cores)",
            rows,
            "duckdb sum",
            max((cpu["vecloss reader alone"] + seconds) / cores, median["vecloss reader alone"]),
            median["duckdb"],
            "s",
            None,
        )
    bar.update()

    bar.set_postfix_str("Parquet -> Parquet")
    loss_sql = query.replace("select ", "select buildingId, ", 1)
    median, _ = race(
        {
            "vecloss": lambda: vecloss.run(src, fresh("vecloss"), workers=workers).rows,
            "polars": lambda: (
                pl.scan_parquet(src).select("buildingId", expr).sink_parquet(fresh("polars"))
            ),
            "duckdb copy": lambda: con.execute(
                f"copy ({loss_sql}) to '{fresh('duckdb')}' (format parquet)"
            ),
        },
        max(3, scale.repeat // 2),
    )
    ours = pl.read_parquet(out["vecloss"])
    for name in ("polars", "duckdb"):
        theirs = pl.read_parquet(out[name]).sort("buildingId")
        assert theirs["buildingId"].equals(ours["buildingId"]), name
        same(ours["loss"].to_numpy(), theirs["loss"].to_numpy(), name)
    yield Target(
        "Parquet -> per-building Parquet",
        rows,
        "polars sink_parquet",
        median["vecloss"],
        median["polars"],
        "s",
        1.0,
    )
    yield Target(
        "Parquet -> per-building Parquet: duckdb copy",
        rows,
        "polars sink_parquet",
        median["duckdb copy"],
        median["polars"],
        "s",
        None,
    )
    bar.update()

    con.close()
