"""The speed targets on the portfolios people have: every id kind, in memory and from files.

Part of ``vecloss bench --targets`` (:func:`vecloss.bench.targets.measure_targets`), each row
naming the kind of ids its data has:

- ``vecloss.losses`` against Polars' own expression at every size and for every id kind
  (:data:`KINDS`), both formulas; at 1M rows and more, also against that expression plus
  the same checks written in Polars (``is_unique``, ``is_finite``, the ranges);
- a Parquet file of string ids in no order to a total, whole process (``vecloss run --json``
  in a fresh process) against DuckDB's query in a fresh process, with and without
  ``count(distinct buildingId)``, and Python starting with polars, pyarrow and numpy (a
  bound: what any Python tool on them pays); at the largest size also the peak memory;
- the same file to per-building Parquet against Polars' ``sink_parquet``;
- ``make run``'s quick comparison (``vecloss bench --quick``'s harness) at 1,000 and 20,000
  buildings of the realistic portfolio: the vectorized engine against Polars.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import vecloss
from vecloss.bench.contenders import duckdb_sql, polars_expr, with_jit
from vecloss.bench.race import FORMULAS, Scale, Target, cli_command, process, race, same
from vecloss.checks.ids import SMALL, later_duplicates
from vecloss.checks.keys import distinct_keys, id_keys
from vecloss.schema import ID, NUMERIC, REQUIRED
from vecloss.synthetic import portfolio

__all__ = ["KINDS", "LIMITS", "measure_id_targets", "polars_checked"]


def _long_strings(rows: int, seed: int) -> pl.DataFrame:
    """String ids of 16 to 27 characters (``"HIGHLANDS/LOC-012345678"``), in no order."""
    frame = portfolio(rows, seed=seed)
    return frame.with_columns(
        pl.concat_str(pl.col("region").str.to_uppercase(), pl.col(ID), separator="/").alias(ID)
    )


#: The id kinds raced, each a seeded portfolio maker.
KINDS: dict[str, Callable[[int, int], pl.DataFrame]] = {
    "sorted ints": lambda rows, seed: portfolio(rows, seed=seed, ids="sorted"),
    "shuffled ints": lambda rows, seed: portfolio(rows, seed=seed, ids="shuffled"),
    "strings (LOC-, 13 chars), no order": lambda rows, seed: portfolio(rows, seed=seed),
    "strings (16-27 chars), no order": _long_strings,
}
#: vecloss.losses / Polars' bare expression, at most, by id kind.
LIMITS = {
    "sorted ints": 1.0,
    "shuffled ints": 1.5,
    "strings (LOC-, 13 chars), no order": 2.0,
    "strings (16-27 chars), no order": 2.0,
}
STRINGS = "strings (LOC-, 13 chars), no order"


def _range(column: str) -> pl.Expr:
    col = next(c for c in NUMERIC if c.name == column)
    value = pl.col(column)
    low = value > col.low if col.low_open else value >= col.low
    return value.is_finite() & low & (value <= col.high)


def polars_checked(frame: pl.DataFrame, expr: pl.Expr) -> np.ndarray:
    """Polars' expression after the schema's checks written in Polars, as an analyst would:
    ids present and unique, every number finite and in its range."""
    ok = frame.select(
        pl.col(ID).is_not_null().all() & pl.col(ID).is_unique().all(),
        *(_range(c.name).all() for c in NUMERIC),
    ).row(0)
    if not all(ok):
        msg = "the portfolio breaks the schema"
        raise ValueError(msg)
    return frame.select(expr).to_series().to_numpy()


def _in_memory(scale: Scale, bar: Any) -> Iterator[Target]:
    largest = max(scale.sizes)
    for rows in scale.sizes:
        for kind, make in KINDS.items():
            frame = make(rows, 1)
            for formula in FORMULAS:
                bar.set_postfix_str(f"losses {formula} {rows:,} {kind}")
                yield from _losses(frame, formula, kind, scale.repeat, largest=rows == largest)
            del frame


def _losses(
    frame: pl.DataFrame, formula: Any, kind: str, repeat: int, *, largest: bool
) -> Iterator[Target]:
    expr = polars_expr(formula, 10, 0.05)
    rows = frame.height

    def ours() -> np.ndarray:
        return vecloss.losses(frame, formula=formula)["loss"].to_numpy()

    fns = {"vecloss": ours, "polars": lambda: frame.select(expr).to_series().to_numpy()}
    numpy_alone = largest and kind == "sorted ints"
    if numpy_alone:
        fns["numpy"] = lambda: with_jit("0", ours)
    median, answers = race(fns, repeat)
    for name, loss in answers.items():
        same(loss, answers["polars"], f"{name} {formula} {rows} {kind}")
    work, peer = f"vecloss.losses, {formula}", "polars expression"
    yield Target(work, rows, peer, median["vecloss"], median["polars"], "s", LIMITS[kind], kind)
    if largest and rows >= 10_000_000 and kind == "sorted ints":
        yield Target(work, rows, peer, median["vecloss"], median["polars"], "s", 0.4, kind)
    if numpy_alone:
        alone = f"{work}: NumPy kernels alone (no numba)"
        yield Target(alone, rows, peer, median["numpy"], median["polars"], "s", 0.6, kind)
    if kind.startswith("strings") and formula == "complex" and rows <= ID_BOUNDS_UP_TO:
        yield from _id_check_bounds(frame, expr, kind, repeat)
    if rows >= 1_000_000:
        checked, answers = race(
            {"vecloss": ours, "polars": lambda: polars_checked(frame, expr)}, max(3, repeat // 2)
        )
        same(answers["vecloss"], answers["polars"], f"checked {formula} {rows} {kind}")
        peer = "polars expression plus the same checks (is_unique, is_finite, ranges)"
        yield Target(work, rows, peer, checked["vecloss"], checked["polars"], "s", 0.25, kind)


#: Up to this many string ids, the bench also races the id check alone against Polars' bare
#: expression (bounds beside the targets that string ids miss at 10,000 to 100,000 rows).
ID_BOUNDS_UP_TO = 100_000


def _id_check_bounds(
    frame: pl.DataFrame, expr: pl.Expr, kind: str, repeat: int
) -> Iterator[Target]:
    """What checking the ids alone costs, by each of vecloss's two means (Polars' hash, then
    the check of the keys; Polars' count of distinct values, ``n_unique``, below
    :data:`vecloss.checks.ids.SMALL` ids), against Polars' whole bare expression; a race of its
    own, so the target's race runs as it always has."""
    ids = frame.get_column(ID)
    median, answers = race(
        {
            "polars": lambda: frame.select(expr),
            # (the hash and the keys' check whatever the count: below checks.ids.SMALL,
            # later_duplicates counts instead, which is the row after)
            "hash": lambda: distinct_keys(id_keys(ids)),
            "n_unique": ids.n_unique,
        },
        repeat,
    )
    assert answers["hash"] is True, kind
    assert answers["n_unique"] == frame.height, kind
    rows, peer = frame.height, "polars expression"
    for name, what in (
        (
            "hash",
            f"the ids' hash and the keys' check alone (vecloss's check from {SMALL:,} string ids)",
        ),
        ("n_unique", "Polars' n_unique of the ids alone"),
    ):
        work = f"vecloss.losses, complex: {what}"
        yield Target(work, rows, peer, median[name], median["polars"], "s", None, kind)


_DUCKDB = """
import sys, duckdb
con = duckdb.connect()
con.execute("set enable_progress_bar = false")
print(con.sql(sys.argv[1]).fetchall()[0][0])
"""


#: A bound beside the whole-process rows: Python reading the five columns a run reads, by
#: Polars (the fastest reader here: pyarrow and DuckDB to Arrow take longer, see the sorted
#: ints' rows), and nothing else: no id check, no formula.
_READ = "python: polars reads the five columns, nothing else"
_POLARS_READ = """
import sys, polars as pl
print(pl.scan_parquet(sys.argv[1]).select(sys.argv[2:]).collect().height)
"""
#: The other reader measured beside it: DuckDB scans the file on its threads, hashes the ids
#: in its scan (no string reaches Python) and hands Python the hashes and the four numbers in
#: Arrow batches; nothing else.
_DUCKDB_READ_NAME = "python: duckdb reads the four numbers and the ids' hashes, nothing else"
_DUCKDB_READ = """
import sys, duckdb
con = duckdb.connect()
con.execute("set enable_progress_bar = false")
print(sum(batch.num_rows for batch in con.sql(sys.argv[1]).to_arrow_reader(1 << 19)))
"""


def _whole_process(path: Path, rows: int, repeat: int, *, memory: bool) -> Iterator[Target]:
    """A Parquet file to a total in fresh processes: vecloss's command line and DuckDB's."""
    query = duckdb_sql("complex", 10, 0.05).replace(
        "from portfolio", f"from read_parquet('{path}')"
    )
    total = query.replace("select ", "select sum(", 1).replace(" as loss", ") as total")
    distinct = total.replace(" as total", " as total, count(distinct buildingId)")
    numbers = ", ".join(c for c in REQUIRED if c != ID)
    hashed = f"select hash({ID}), {numbers} from read_parquet('{path}')"
    commands = {
        "vecloss": [*cli_command(), "run", str(path), "--json"],
        "duckdb sum": [sys.executable, "-c", _DUCKDB, total],
        "duckdb sum and count(distinct buildingId)": [sys.executable, "-c", _DUCKDB, distinct],
        "python -c 'import polars, pyarrow, numpy'": [
            sys.executable,
            "-c",
            "import polars, pyarrow, numpy",
        ],
        _READ: [sys.executable, "-c", _POLARS_READ, str(path), *REQUIRED],
        _DUCKDB_READ_NAME: [sys.executable, "-c", _DUCKDB_READ, hashed],
    }
    runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
    for name in commands:  # warm the page cache
        process(commands[name])
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(process(command))
    wall = {name: float(np.median([s for s, _, _ in r])) for name, r in runs.items()}
    peak = {name: float(np.median([m for _, m, _ in r])) for name, r in runs.items()}
    ours = float(vecloss_json(runs["vecloss"][-1][2])["total_loss"])
    theirs = float(runs["duckdb sum"][-1][2].strip().splitlines()[-1])
    assert abs(ours - theirs) <= 1e-9 * abs(ours), (ours, theirs)
    work = "Parquet -> total, whole process"
    yield Target(work, rows, "duckdb sum", wall["vecloss"], wall["duckdb sum"], "s", 2.0, STRINGS)
    peer = "duckdb sum and count(distinct buildingId)"
    yield Target(work, rows, peer, wall["vecloss"], wall[peer], "s", 0.5, STRINGS)
    start = "python -c 'import polars, pyarrow, numpy'"
    yield Target(
        f"{work}: {start}", rows, "duckdb sum", wall[start], wall["duckdb sum"], "s", None, "-"
    )
    for reader in (_READ, _DUCKDB_READ_NAME):
        printed = runs[reader][-1][2]
        assert int(printed.strip().splitlines()[-1]) == rows, printed
        read = f"{work}: {reader}"
        yield Target(read, rows, "duckdb sum", wall[reader], wall["duckdb sum"], "s", None, STRINGS)
    if memory:
        yield Target(
            f"{work}: peak memory", rows, "-", peak["vecloss"], None, "MB", 1500.0, STRINGS
        )
        yield Target(
            f"{work}: peak memory, {peer}", rows, "-", peak[peer], None, "MB", None, STRINGS
        )


def vecloss_json(printed: str) -> dict[str, Any]:
    import json

    result: dict[str, Any] = json.loads(printed.strip().splitlines()[-1])
    return result


def _to_parquet(path: Path, folder: Path, rows: int, repeat: int) -> Iterator[Target]:
    expr = polars_expr("complex", 10, 0.05)
    names = ("vecloss", "polars", "numpy")
    out = {name: folder / f"ids-{name}.parquet" for name in names}

    def fresh(name: str) -> Path:
        out[name].unlink(missing_ok=True)
        return out[name]

    # (this process has loaded Numba by now, for the in-memory rows, so vecloss checks the
    # ids at the end with the compiled check; "numpy" is what a process without it runs)
    median, _ = race(
        {
            "vecloss": lambda: vecloss.run(path, fresh("vecloss")).rows,
            "polars": lambda: pl.scan_parquet(path).select(ID, expr).sink_parquet(fresh("polars")),
            "numpy": lambda: with_jit("0", lambda: vecloss.run(path, fresh("numpy")).rows),
        },
        repeat,
    )
    theirs = pl.read_parquet(out["polars"]).sort(ID)
    for name in ("vecloss", "numpy"):
        ours = pl.read_parquet(out[name]).sort(ID)
        assert ours[ID].equals(theirs[ID]), name
        same(ours["loss"].to_numpy(), theirs["loss"].to_numpy(), f"Parquet -> Parquet, {name}")
    work = "Parquet -> per-building Parquet"
    peer = "polars sink_parquet"
    yield Target(work, rows, peer, median["vecloss"], median["polars"], "s", 1.0, STRINGS)
    alone = f"{work}: without Numba (VECLOSS_JIT=0: the ids checked at the end by Polars' sort)"
    yield Target(alone, rows, peer, median["numpy"], median["polars"], "s", None, STRINGS)


def _quick(folder: Path, repeat: int) -> Iterator[Target]:
    """What ``make run`` prints: ``vecloss bench --quick`` run as it runs it (a fresh process,
    every engine of the comparison, its repeats), and its vectorized and polars rows read."""
    out = folder / "quick"
    process([*cli_command(), "bench", "--quick", "--output-dir", str(out)])
    found = pl.read_csv(out / "results.csv")
    times = {(row["engine"], row["size"]): row["seconds"] for row in found.iter_rows(named=True)}
    for size in (1_000, 20_000):
        yield Target(
            "make run's quick comparison (vecloss bench --quick, as a process): vectorized",
            size,
            "polars",
            times["vectorized", size],
            times["polars", size],
            "s",
            1.0,
            STRINGS,
        )
        yield from _quick_bounds(size, repeat)


def _quick_bounds(rows: int, repeat: int) -> Iterator[Target]:
    """Beside the quick comparison, in this process: what its two parts cost against Polars'
    expression on the same buildings, the kernel with every check but the ids' (the ids made
    sorted integers, checked by one comparison of neighbours) and the ids' check alone."""
    frame = portfolio(rows, seed=0)
    ints = frame.with_columns(pl.int_range(1, rows + 1, dtype=pl.Int64).alias(ID))
    expr = polars_expr("complex", 10, 0.05)
    ids = frame.get_column(ID)
    median, answers = race(
        {
            "polars": lambda: frame.select(expr).to_series().to_numpy(),
            "kernel": lambda: vecloss.losses(ints)["loss"].to_numpy(),
            "ids": lambda: later_duplicates(ids),
        },
        repeat,
    )
    same(answers["kernel"], answers["polars"], f"quick bound {rows}")
    assert answers["ids"] is None, rows
    work = "make run's quick comparison: bound"
    parts = {
        "kernel": (
            "vecloss.losses on the same buildings with sorted integer ids (all but the ids' check)",
            "sorted ints",
        ),
        "ids": ("the ids' check alone", STRINGS),
    }
    for name, (what, kind) in parts.items():
        yield Target(
            f"{work}, {what}", rows, "polars", median[name], median["polars"], "s", None, kind
        )
    both = median["kernel"] + median["ids"]
    yield Target(
        f"{work}, the two one after the other",
        rows,
        "polars",
        both,
        median["polars"],
        "s",
        None,
        STRINGS,
    )


def measure_id_targets(scale: Scale, folder: Path, bar: Any) -> Iterator[Target]:
    """Every target of this module, in one run (see the module's documentation)."""
    yield from _quick(folder, scale.repeat)
    yield from _in_memory(scale, bar)
    bar.set_postfix_str("Parquet of string ids")
    path = vecloss.generate(scale.parquet_rows, folder / "strings.parquet", seed=9)
    repeat = max(3, scale.repeat // 2)
    yield from _whole_process(path, scale.parquet_rows, repeat, memory=False)
    yield from _to_parquet(path, folder, scale.parquet_rows, repeat)
    path.unlink()
    if scale.big_rows:
        bar.set_postfix_str(f"Parquet of string ids, {scale.big_rows:,}")
        big = vecloss.generate(scale.big_rows, folder / "big-strings.parquet", seed=10)
        yield from _whole_process(big, scale.big_rows, 1, memory=True)
        big.unlink()
