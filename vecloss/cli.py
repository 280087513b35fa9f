"""The ``vecloss`` command line: results to stdout, diagnostics to stderr.

Exit codes: 0 success; 1 bad input data or unreadable source; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from vecloss import __version__
from vecloss.bench.contenders import CONTENDERS
from vecloss.checks.ids import SeenIds
from vecloss.checks.log import FailureLog
from vecloss.exceptions import VeclossError, require
from vecloss.io.convert import convert
from vecloss.io.source import open_source
from vecloss.run.runner import ENGINES, run
from vecloss.run.summary import Summary
from vecloss.run.worker import DEFAULT_BATCH_ROWS, Job, checked_batches
from vecloss.scenario import FORMULAS, Scenario

__all__ = ["main"]

PREVIEW_ROWS = 20
DEFAULT_SIZES = [10**k for k in range(2, 8)]


def _years(text: str) -> int | list[int]:
    """``10`` or a grid ``10,30``: integers >= 0."""
    values = []
    for part in text.split(","):
        try:
            years = int(part)
        except ValueError:
            years = -1
        if years < 0:
            msg = f"years must be an integer >= 0 (or a list like 10,30), got {part!r}"
            raise argparse.ArgumentTypeError(msg)
        values.append(years)
    return values[0] if len(values) == 1 else values


def _rate(text: str) -> float | list[float]:
    """``0.05`` or a grid ``0.03,0.05``: finite numbers > -1."""
    values = []
    for part in text.split(","):
        try:
            rate = float(part)
        except ValueError:
            msg = f"discount rate must be a number > -1 (or a list like 0.03,0.05), got {part!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if not -1 < rate < float("inf"):
            msg = f"discount rate must be finite and > -1, got {part!r}"
            raise argparse.ArgumentTypeError(msg)
        values.append(rate)
    return values[0] if len(values) == 1 else values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _count(text: str) -> int:
    try:
        value = int(float(text)) if "e" in text.lower() else int(text.replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a number of buildings >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _columns(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _sizes(text: str) -> list[int]:
    return [_count(part) for part in text.split(",")]


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        msg = f"unknown engine {', '.join(unknown)}; choose from {', '.join(CONTENDERS)}"
        raise argparse.ArgumentTypeError(msg)
    return names


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--formula", choices=FORMULAS, default="complex", help="default: complex")
    parser.add_argument("--years", type=_years, default=10, metavar="N", help="default: 10")
    parser.add_argument(
        "--discount-rate", type=_rate, default=0.05, metavar="R", help="default: 0.05"
    )


def _add_database_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--table", metavar="NAME", help="with a database INPUT: the table to read")
    source.add_argument("--query", metavar="SQL", help="with a database INPUT: the query to run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vecloss",
        description="Projected losses for portfolios of buildings, in one vectorized pass.",
    )
    parser.add_argument("--version", action="version", version=f"vecloss {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", parents=[common], help="compute every building's loss")
    p.add_argument(
        "input", metavar="INPUT", help="portfolio file (.json .ndjson .csv .parquet .arrow ...)"
    )
    p.add_argument(
        "-o", "--output", metavar="OUTPUT", help="write buildingId, loss here (by suffix)"
    )
    _add_model_options(p)
    p.add_argument("--engine", choices=ENGINES, default="vectorized", help="default: vectorized")
    p.add_argument(
        "--workers", type=_positive, default=None, metavar="N", help="default: the core count"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask: an existing cluster (tcp://HOST:PORT); default: a local one",
    )
    p.add_argument(
        "--chunk-size",
        type=_positive,
        default=None,
        metavar="N",
        help="threads/processes: one task per N buildings instead of one per building",
    )
    p.add_argument("--batch-rows", type=_positive, default=DEFAULT_BATCH_ROWS, metavar="N")
    p.add_argument("--on-invalid", choices=["fail", "skip"], default="fail")
    p.add_argument("--rejects", metavar="PATH", help="where skip mode puts bad rows, with reasons")
    p.add_argument(
        "--keep", type=_columns, default=[], metavar="COL,COL", help="carry input columns out"
    )
    p.add_argument("--group-by", metavar="COLUMN", help="totals, counts and mean loss per group")
    _add_database_options(p)
    p.add_argument(
        "--output-table", metavar="NAME", help="with a database -o: the table to (re)place"
    )
    p.add_argument("--json", action="store_true", help="print only the summary, as JSON")

    p = sub.add_parser("validate", parents=[common], help="report every problem, change nothing")
    p.add_argument("input", metavar="INPUT")
    _add_model_options(p)
    _add_database_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("generate", parents=[common], help="write a seeded synthetic portfolio")
    p.add_argument("rows", type=_count, metavar="N")
    p.add_argument("-o", "--output", required=True, metavar="PATH")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("convert", parents=[common], help="copy a portfolio to another format")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("output", metavar="OUTPUT")

    p = sub.add_parser("bench", parents=[common], help="race the engines, the baselines and peers")
    p.add_argument(
        "--sizes", type=_sizes, default=DEFAULT_SIZES, metavar="N,N", help="default: 1e2..1e7"
    )
    p.add_argument(
        "--engines",
        type=_names,
        default=None,
        metavar="NAME,NAME",
        help="default: all of " + ", ".join(CONTENDERS),
    )
    p.add_argument("--repeat", type=_positive, default=5, metavar="N", help="default: 5")
    p.add_argument(
        "--budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="extrapolate runs predicted to take longer (default: 60)",
    )
    p.add_argument("--workers", type=_positive, default=None, metavar="N")
    p.add_argument("--output-dir", metavar="DIR", help="write results.csv/json/md and scaling.png")
    p.add_argument("--no-e2e", action="store_true", help="skip the end-to-end file tasks")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short comparison: 1,000 and 20,000 buildings, a few engines",
    )
    p.add_argument(
        "--targets",
        action="store_true",
        help="the Speed targets, each as a ratio to its peer (at the largest of --sizes, "
        "default 10,000,000; text formats at 1,000,000)",
    )
    return parser


def _print_table(summary: Summary) -> None:
    preview = summary.preview
    if len(summary.totals) > 1:
        print(f"{'years':>6}  {'discount_rate':>13}  {'total_loss':>24}")
        for item in summary.totals:
            print(f"{item['years']:>6}  {item['discount_rate']:>13}  {item['total_loss']!r:>24}")
        print(
            f"({summary.rows:,} buildings, {summary.formula} formula, "
            f"{len(summary.totals)} scenarios; write them all with -o)"
        )
    elif preview is not None and preview.height:
        _print_frame(preview)
        if summary.rows > preview.height:
            print(f"... showing {preview.height} of {summary.rows:,} buildings")
    if summary.total_loss is not None:
        print(
            f"total loss: {summary.total_loss!r}  ({summary.rows:,} buildings, {summary.formula} "
            f"formula, {summary.years} years, discount rate {summary.discount_rate})"
        )
    if summary.groups:
        _print_groups(summary)
    if summary.rejected:
        print(f"rejected: {summary.rejected:,} rows, written to {summary.rejects}")


def _print_frame(frame: pl.DataFrame) -> None:
    """Every column right-aligned under its name; losses with 10 decimals."""
    cells = {
        name: [f"{v:.10f}" if name == "loss" else str(v) for v in frame[name].to_list()]
        for name in frame.columns
    }
    widths = {name: max(10, len(name), *(len(c) for c in col)) for name, col in cells.items()}
    print("  ".join(f"{name:>{widths[name]}}" for name in frame.columns))
    for i in range(frame.height):
        print("  ".join(f"{cells[name][i]:>{widths[name]}}" for name in frame.columns))


def _print_groups(summary: Summary) -> None:
    by = next(k for k in summary.groups[0] if k not in GROUP_FIELDS)
    grid = len(summary.totals) > 1
    head = f"{'years':>6}  {'rate':>6}  " if grid else ""
    print(f"{head}{by:>16}  {'buildings':>10}  {'total_loss':>22}  {'mean_loss':>14}")
    for g in summary.groups:
        lead = f"{g['years']:>6}  {g['discount_rate']:>6}  " if grid else ""
        print(
            f"{lead}{g[by]!s:>16}  {g['buildings']:>10,}  {g['total_loss']:>22.6f}  "
            f"{g['mean_loss']:>14.6f}"
        )


GROUP_FIELDS = {"years", "discount_rate", "buildings", "total_loss", "mean_loss"}


def _run(args: argparse.Namespace) -> int:
    summary = run(
        args.input,
        args.output,
        formula=args.formula,
        years=args.years,
        discount_rate=args.discount_rate,
        engine=args.engine,
        workers=args.workers,
        chunk_size=args.chunk_size,
        batch_rows=args.batch_rows,
        on_invalid=args.on_invalid,
        rejects=args.rejects,
        preview_rows=0 if args.json or args.output else PREVIEW_ROWS,
        progress=sys.stderr.isatty(),
        keep=args.keep,
        by=args.group_by,
        scheduler=args.scheduler,
        table=args.table,
        query=args.query,
        output_table=args.output_table,
    )
    if args.json:
        print(json.dumps(summary.to_dict()))
    elif args.output is None:
        _print_table(summary)
    else:
        total = "" if summary.total_loss is None else f"; total loss {summary.total_loss!r}"
        print(f"wrote {summary.output_rows:,} losses to {summary.output}{total}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = Scenario.parse(args.formula, args.years, args.discount_rate)
    src = open_source(args.input, table=args.table, query=args.query)
    job = Job(scenario, source=src.name)
    log, rows, seen = FailureLog(), 0, SeenIds()
    for part in src.parts():
        for batch, _ in checked_batches(part, job, seen):
            log.add(batch.rejected)
            rows += batch.valid.height + batch.rejected.height
    if args.json:
        report = {
            "input": src.name,
            "rows": rows,
            "valid": not log,
            "rejected": log.rows,
            "problems": log.frame().to_dicts(),
        }
        print(json.dumps(report))
    elif log:
        print(f"{src.name}: {log.rows:,} of {rows:,} rows break the schema")
        print("\n".join(log.lines()))
    else:
        print(f"{src.name}: {rows:,} rows, no problems")
    return 1 if log else 0


def _generate(args: argparse.Namespace) -> int:
    from vecloss.generate import generate

    generate(args.rows, args.output, seed=args.seed)
    print(f"wrote {args.rows:,} buildings to {args.output} (seed {args.seed})")
    return 0


def _convert(args: argparse.Namespace) -> int:
    rows = convert(args.input, args.output)
    print(f"wrote {rows:,} rows to {args.output}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    for module in ("duckdb", "matplotlib", "psutil"):  # before any work is done
        require(module, "vecloss bench", "bench")
    from vecloss.bench.e2e import measure_end_to_end
    from vecloss.bench.harness import measure_engines
    from vecloss.bench.report import markdown_e2e, markdown_engines, write_results

    if args.targets:
        return _bench_targets(args)
    sizes, engines, repeat, budget = (
        args.sizes,
        args.engines or list(CONTENDERS),
        args.repeat,
        args.budget,
    )
    if args.quick:
        sizes = [1_000, 20_000] if args.sizes is DEFAULT_SIZES else sizes
        engines = args.engines or ["vectorized", "loop", "processes", "processes-chunked", "polars"]
        repeat, budget = min(repeat, 3), min(budget, 10.0)
    results = measure_engines(sizes, engines, repeat=repeat, budget=budget, workers=args.workers)
    print(markdown_engines(results))
    e2e = []
    if not (args.no_e2e or args.quick):
        top = max(sizes)
        e2e = measure_end_to_end(
            top, min(top, 1_000_000), repeat=min(repeat, 3), workers=args.workers
        )
        print()
        print(markdown_e2e(e2e))
    if args.output_dir:
        for path in write_results(Path(args.output_dir), results, e2e, command=_command()):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _bench_targets(args: argparse.Namespace) -> int:
    from vecloss.bench.report import write_results
    from vecloss.bench.targets import markdown_targets, measure_targets, write_targets

    rows = 10_000_000 if args.sizes is DEFAULT_SIZES else max(args.sizes)
    targets, measured, e2e = measure_targets(
        rows, min(rows, 1_000_000), repeat=args.repeat, workers=args.workers
    )
    print(markdown_targets(targets))
    if args.output_dir:
        folder = Path(args.output_dir)
        written = write_results(folder, measured, e2e, command=_command(), plot=False)
        for path in [*written, *write_targets(folder, targets, command=_command())]:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _command() -> str:
    """The command line as typed (``python -m vecloss`` shown as ``vecloss``), for results files."""
    launched_as = Path(sys.argv[0]).name
    if launched_as in ("vecloss", "__main__.py"):
        return "vecloss " + " ".join(sys.argv[1:])
    return "vecloss bench"


COMMANDS = {
    "run": _run,
    "validate": _validate,
    "generate": _generate,
    "convert": _convert,
    "bench": _bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except VeclossError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"vecloss: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vecloss: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        print(
            f"vecloss: internal error: {type(exc).__name__}: {exc}; "
            "hint: rerun with --verbose and report it",
            file=sys.stderr,
        )
        return 1
