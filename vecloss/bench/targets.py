"""The Speed targets, each measured against a peer in the same run.

``vecloss bench --targets`` races, in one process and one run:

- ``vecloss.losses`` against Polars' own expression at every size, both formulas, and the
  NumPy kernels alone (``VECLOSS_JIT=0``, the path without Numba) at the largest;
- the command line on the five-building example against starting Python with polars,
  pyarrow and numpy, and its peak memory;
- JSON arrays in three layouts (pretty-printed, one line, one object a line) against
  DuckDB's ``read_json(format='array')`` to Arrow and ``json.load``, and the same layouts
  at 20M buildings streamed by ``vecloss run`` in a fresh process, for its peak memory;
- Parquet to a total against DuckDB's SQL, Parquet to per-building Parquet against
  Polars' ``sink_parquet``, CSV and NDJSON to a frame against Polars' readers;
- the accuracy of every kernel against the scalar reference.

Timings are medians over repeats run in turn (vecloss, peer, vecloss, ...); a small input
is timed over enough calls for a sample of ~20 ms, and each round starts with the next
contender (the place in a round alone moves a time by ~10 % here), for at least as many
rounds as there are contenders. Beside some targets, bounds measured
in the same run (``target`` empty): what the fastest available reader or writer alone
takes; for Parquet -> total, vecloss's work done as one DuckDB query and one Polars query,
the CPU time of each step, and the floor of any pipeline on the fastest reader (its CPU time
and the least compute after it, shared by the cores); for JSON, what DuckDB's readers make of
a value whose type differs from their sample's. Every contender's answer is checked against
vecloss's.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import vecloss
from vecloss.api import validated
from vecloss.bench.contenders import duckdb_sql, polars_expr, with_jit
from vecloss.bench.harness import progress
from vecloss.bench.race import FORMULAS, Scale, Target, cli_command, process, race, same, turns
from vecloss.io._stream import file_colons
from vecloss.kernels.blocks import jit_available
from vecloss.reference import reference_loss
from vecloss.schema import REQUIRED
from vecloss.synthetic import generate, iter_portfolio, portfolio

__all__ = ["LAYOUTS", "Scale", "Target", "markdown_targets", "measure_targets", "write_targets"]

#: A JSON array as people write it: ``json.dump(rows, indent=2)``; one line (``json.dump``
#: default, ``DataFrame.write_json``); one object a line (what vecloss and most exporters do).
LAYOUTS = ("pretty", "one line", "one object a line")
#: What ``vecloss.read`` of NDJSON adds to Polars' reader, beside the validation: the file's
#: colons counted, which shows that no key was repeated or dropped (it runs on a thread).
KEY_COUNT = "vecloss key count alone (the file's colons)"
#: The checked work of Parquet -> total at its cheapest: the compiled kernel's fused pass.
CHECKED = "the formula, every check and the ids' order, compiled (one fused pass)"


def _accuracy(bar: Any) -> Iterator[Target]:
    frame = portfolio(20_000, seed=3)
    rows = list(frame.iter_rows(named=True))
    for formula in FORMULAS:
        expected = np.array([reference_loss(b, 10, 0.05, formula) for b in rows])
        worst = 0.0
        for setting in ("0", "1"):
            loss = with_jit(setting, partial(vecloss.losses, frame, formula=formula))["loss"]
            error = np.abs(loss.to_numpy() - expected)
            assert np.all(error[expected == 0] == 0), formula
            worst = max(worst, float(np.max(error[expected != 0] / expected[expected != 0])))
        yield Target(
            f"accuracy, {formula} (NumPy and compiled kernels)",
            len(rows),
            "-",
            worst,
            None,
            "rel. error",
            1e-12,
        )
    bar.update()


def _example() -> Path:
    for where in (Path.cwd(), Path(vecloss.__file__).resolve().parents[1]):
        if (where / "examples" / "data.json").is_file():
            return where / "examples" / "data.json"
    msg = "the five-building example examples/data.json is not found; run from the repository"
    raise FileNotFoundError(msg)


def _command_line(scale: Scale, bar: Any) -> Iterator[Target]:
    bar.set_postfix_str("command line")
    # Bytecode as a wheel install has it (an editable install may have none yet).
    compileall.compile_dir(Path(vecloss.__file__).parent, quiet=1)
    example = _example()
    commands = {
        "vecloss": [*cli_command(), "run", str(example)],
        "python": [sys.executable, "-c", "import polars, pyarrow, numpy"],
    }
    runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
    for command in commands.values():
        process(command)  # warm the page cache
    for _ in range(max(scale.repeat, 9)):
        for name, command in commands.items():
            runs[name].append(process(command))
    wall = {name: statistics.median(s for s, _, _ in r) for name, r in runs.items()}
    peak = statistics.median(m for _, m, _ in runs["vecloss"])
    assert "total loss: 517.80" in runs["vecloss"][-1][2], runs["vecloss"][-1][2]
    work = "vecloss run examples/data.json (whole process)"
    yield Target(
        work,
        5,
        'python -c "import polars, pyarrow, numpy"',
        wall["vecloss"],
        wall["python"],
        "s",
        1.5,
    )
    yield Target(f"{work}: peak memory", 5, "-", peak, None, "MB", 200.0)
    bar.update()


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


def _arrow(con: Any, sql: str) -> Any:
    return con.sql(sql).to_arrow_table()


def _polars_of(con: Any, sql: str) -> pl.DataFrame:
    frame: pl.DataFrame = con.sql(sql).pl()
    return frame


def _json_load(path: Path) -> int:
    return len(json.loads(path.read_bytes()))


def _json_arrays(scale: Scale, folder: Path, bar: Any) -> Iterator[Target]:
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


def _streamed(scale: Scale, folder: Path, bar: Any) -> Iterator[Target]:
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


def _files(scale: Scale, folder: Path, workers: int | None, bar: Any) -> Iterator[Target]:
    import duckdb
    import pyarrow.csv
    import pyarrow.json
    import pyarrow.parquet as pq

    con = duckdb.connect()
    if workers:
        con.execute(f"set threads = {workers}")
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

    text = {
        suffix: generate(scale.text_rows, folder / f"portfolio.{suffix}", seed=8)
        for suffix in ("csv", "ndjson")
    }
    csv, ndjson = text["csv"], text["ndjson"]
    read_csv, read_ndjson = pl.read_csv(csv), pl.read_ndjson(ndjson)
    every_row = "format='newline_delimited', sample_size=-1"
    readers: dict[str, dict[str, Callable[[], Any]]] = {
        "csv": {
            "vecloss": partial(vecloss.read, csv),
            "polars": partial(pl.read_csv, csv),
            "vecloss validation alone": partial(validated, read_csv),
            "polars read_csv, then vecloss validation": lambda: validated(pl.read_csv(csv)),
            "duckdb reader alone": partial(_polars_of, con, f"select * from read_csv('{csv}')"),
            "pyarrow reader alone": lambda: pl.from_arrow(pyarrow.csv.read_csv(csv)),
        },
        "ndjson": {
            "vecloss": partial(vecloss.read, ndjson),
            "polars": partial(pl.read_ndjson, ndjson),
            "vecloss validation alone": partial(validated, read_ndjson),
            "polars read_ndjson, then vecloss validation": lambda: validated(
                pl.read_ndjson(ndjson)
            ),
            KEY_COUNT: partial(file_colons, ndjson),
            "duckdb reader alone (types from a sample)": partial(
                _polars_of, con, f"select * from read_json('{ndjson}')"
            ),
            "duckdb reader alone (types from every row)": partial(
                _polars_of, con, f"select * from read_json('{ndjson}', {every_row})"
            ),
            "pyarrow reader alone": lambda: pl.from_arrow(pyarrow.json.read_json(ndjson)),
        },
    }
    for suffix, fns in readers.items():
        bar.set_postfix_str(f"{suffix} -> frame")
        median, answers = race(fns, max(3, scale.repeat // 2))
        for name, frame in answers.items():
            if name == KEY_COUNT:  # every line gives each of its keys once
                assert frame == scale.text_rows * answers["vecloss"].width, frame
                continue
            assert isinstance(frame, pl.DataFrame), name
            assert frame.height == scale.text_rows, name
            assert frame["buildingId"].equals(answers["vecloss"]["buildingId"]), name
        peer = f"polars read_{suffix}"
        work = f"{suffix.upper()} -> frame"
        yield Target(work, scale.text_rows, peer, median["vecloss"], median["polars"], "s", 1.0)
        for name in fns:
            if name not in ("vecloss", "polars"):
                yield Target(
                    f"{work}: {name}",
                    scale.text_rows,
                    peer,
                    median[name],
                    median["polars"],
                    "s",
                    None,
                )
        bar.update()
    con.close()


def measure_targets(scale: Scale | None = None, *, workers: int | None = None) -> list[Target]:
    """Measure every target (and the bounds beside some) in one run."""
    from vecloss.bench.ids import STRINGS, measure_id_targets

    scale = scale or Scale()
    steps = 2 + 2 * len(LAYOUTS) + 4
    bar = progress(steps, "targets")
    with tempfile.TemporaryDirectory(prefix="vecloss-targets-") as tmp:
        folder = Path(tmp)
        targets = list(measure_id_targets(scale, folder, bar))
        targets += [*_accuracy(bar), *_command_line(scale, bar)]
        targets += [
            t if t.ids != "-" or t.unit == "value" else replace(t, ids=STRINGS)
            for t in (*_json_arrays(scale, folder, bar), *_streamed(scale, folder, bar))
        ]
        targets += [
            replace(t, ids="sorted ints" if t.work.startswith("Parquet") else STRINGS)
            for t in _files(scale, folder, workers, bar)
        ]
    bar.close()
    return targets


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1e3:,.2f} ms" if value < 0.01 else f"{value * 1e3:,.0f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "value":
        return f"{value:g}"
    return f"{value:.1e}"


def markdown_targets(targets: Sequence[Target]) -> str:
    """One row per target (and bound): the two figures, the ratio or value, the target, met."""
    lines = [
        "| work | ids | rows | peer | vecloss | peer | ratio / value | target | met |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in targets:
        peer = "-" if t.peer_value is None else _figure(t.peer_value, t.unit)
        value = f"{t.value:.2f}x" if t.peer_value is not None else _figure(t.value, t.unit)
        if t.unit == "value":  # what each one read
            value = "the same" if t.vecloss == t.peer_value else "**differs**"
        if t.limit is None:
            goal, met = "(a check)" if t.unit == "value" else "(a bound)", "-"
        else:
            limit = f"{t.limit:g}x" if t.peer_value is not None else _figure(t.limit, t.unit)
            goal, met = f"<= {limit}", "yes" if t.met else "**no**"
        lines.append(
            f"| {t.work} | {t.ids} | {t.rows:,} | {t.peer} | {_figure(t.vecloss, t.unit)} | "
            f"{peer} | {value} | {goal} | {met} |"
        )
    return "\n".join(lines)


def write_targets(folder: Path, targets: Sequence[Target], *, command: str) -> list[Path]:
    """Write targets.csv and targets.md (with the command and the commit) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame([t.row() for t in targets]).write_csv(folder / "targets.csv")
    commit = _commit()
    met = sum(bool(t.met) for t in targets if t.limit is not None)
    goals = sum(t.limit is not None for t in targets)
    (folder / "targets.md").write_text(
        f"Command: `{command}` at commit {commit}\n\n{met} of {goals} targets met.\n\n"
        f"{markdown_targets(targets)}\n"
    )
    return [folder / "targets.csv", folder / "targets.md"]


def _commit() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(vecloss.__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "(unknown)"
    return found.stdout.strip()


def _cell(row: dict[str, Any]) -> str:
    """One run's figure for one target: a ratio, a value, or (a check) what each one read."""
    if row["unit"] == "value":
        return f"{_figure(row['vecloss'], 'value')} / {_figure(row['peer_value'], 'value')}"
    if row["peer_value"] is not None:
        return f"{row['value']:.2f}x"
    return _figure(row["value"], row["unit"])


def markdown_runs(runs: Sequence[pl.DataFrame]) -> str:
    """Several runs' targets.csv side by side: each target's value per run, and in how many
    runs it was met (a target counts as met when it is met in most of them)."""
    first = runs[0]
    header = " | ".join(f"run {k + 1}" for k in range(len(runs)))
    lines = [
        f"| work | ids | rows | peer | {header} | target | met |",
        "| --- | --- | ---: | --- | " + "---: | " * len(runs) + "---: | --- |",
    ]
    for i, row in enumerate(first.iter_rows(named=True)):
        values, met = [], 0
        for run in runs:
            other = run.row(i, named=True)
            if [other[k] for k in ("work", "ids", "rows", "peer", "limit")] != [
                row[k] for k in ("work", "ids", "rows", "peer", "limit")
            ]:
                msg = f"the runs do not list the same targets (row {i})"
                raise ValueError(msg)
            values.append(_cell(other))
            met += bool(other["met"])
        if row["limit"] is None:
            goal, verdict = "(a check)" if row["unit"] == "value" else "(a bound)", "-"
        else:
            limit = row["limit"]
            goal = (
                f"<= {limit:g}x"
                if row["peer_value"] is not None
                else f"<= {_figure(limit, row['unit'])}"
            )
            verdict = f"{met} of {len(runs)}" + ("" if 2 * met > len(runs) else " (**not met**)")
        cells = [row["work"], row["ids"], f"{row['rows']:,}", row["peer"], *values, goal, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
