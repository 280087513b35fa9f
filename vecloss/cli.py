"""The ``vecloss`` command line: results to stdout, diagnostics to stderr.

Exit codes: 0 success; 1 bad input data or unreadable source; 2 bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shutil
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import polars as pl

from vecloss import formulas
from vecloss.cli_options import DEFAULT_SIZES, PREVIEW_ROWS, build_parser
from vecloss.exceptions import Terminated, UsageError, VeclossError, require
from vecloss.io.atomic import scratch_folder
from vecloss.io.convert import convert
from vecloss.io.source import open_source
from vecloss.names import CONTENDERS
from vecloss.run.runner import run
from vecloss.run.summary import Summary

if TYPE_CHECKING:
    from vecloss.risk import RiskResult

__all__ = ["console", "main"]


_MONEY = {"loss", "total_loss", "mean_loss"}


def _money(value: float) -> str:
    """A loss as people read it: thousands separators, two decimals."""
    return f"{value:,.2f}"


def _print_table(summary: Summary, *, out: TextIO) -> None:
    """The human summary: a preview (or the grid's matrix), largest losses, groups, totals."""
    preview = summary.preview
    if summary.grid:
        print("total loss, years (rows) by discount rate (columns):", file=out)
        _print_frame(summary.matrix, out=out, money=set(summary.matrix.columns[1:]))
    if preview is not None and preview.height:
        if summary.grid:
            print(f"first rows of the long table ({summary.output_rows:,} rows):", file=out)
        _print_frame(preview, out=out)
        if summary.output_rows > preview.height:
            unit = "rows" if summary.grid else "buildings"
            print(f"... showing {preview.height} of {summary.output_rows:,} {unit}", file=out)
    if summary.top is not None and summary.top.height:
        print(f"largest {summary.top.height} losses:", file=out)
        _print_frame(summary.top, out=out)
    if summary.groups.height:
        print("by group:", file=out)
        _print_frame(summary.groups, out=out)
    if summary.total_loss is not None:
        print(
            f"total loss: {_money(summary.total_loss)}  ({summary.rows:,} buildings, "
            f"{summary.formula} formula, {summary.years} years, discount rate "
            f"{summary.discount_rate})",
            file=out,
        )
    else:
        print(
            f"({summary.rows:,} buildings, {summary.formula} formula, {summary.totals.height} "
            "scenarios; every exact total with --json, every row with -o)",
            file=out,
        )
    if summary.rejected:
        print(f"rejected: {summary.rejected:,} rows, written to {summary.rejects}", file=out)


def _print_frame(frame: pl.DataFrame, *, out: TextIO, money: set[str] = _MONEY) -> None:
    """Every column right-aligned under its name; losses with separators and two decimals."""
    cells = {
        name: [
            _money(v) if name in money and v is not None else str(v) for v in frame[name].to_list()
        ]
        for name in frame.columns
    }
    widths = {name: max(len(name), *(len(c) for c in col)) for name, col in cells.items()}
    print("  ".join(f"{name:>{widths[name]}}" for name in frame.columns), file=out)
    for i in range(frame.height):
        print("  ".join(f"{cells[name][i]:>{widths[name]}}" for name in frame.columns), file=out)


#: ``-o`` values that mean standard output.
STDOUT = ("-", "/dev/stdout")


def _run(args: argparse.Namespace) -> int:
    to_stdout = args.output in STDOUT
    from_stdin = args.input == "-"
    output = args.output
    if args.format is not None and not (to_stdout or from_stdin):
        msg = "--format goes with - (standard input or output); a file's format follows its suffix"
        raise UsageError(msg)
    if to_stdout and (sys.stdout is None or sys.stdout.closed):  # `>&-` (hardening U7)
        msg = "-o -: standard output is closed; hint: give it a file or a pipe, or write -o PATH"
        raise VeclossError(msg)
    if from_stdin and args.format is None:
        msg = "- reads standard input; hint: name its format: --format csv|ndjson|json|parquet"
        raise UsageError(msg)
    if args.on_invalid == "skip" and args.rejects is None:
        msg = "skip mode needs a rejects file; hint: add --rejects rejects.csv"
        raise UsageError(msg)
    folder: Path | None = None
    with contextlib.ExitStack() as stack:
        if to_stdout or from_stdin:
            folder = scratch_folder("stdout")  # (one a kill -9 left is swept: C2)
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
        if from_stdin:
            assert folder is not None
            args.input = str(folder / f"stdin.{args.format}")
            with Path(args.input).open("wb") as copy:  # (a file: every reader can stream it)
                shutil.copyfileobj(sys.stdin.buffer, copy)
        if to_stdout:
            assert folder is not None
            output = str(folder / f"stdout.{args.format or 'csv'}")  # CSV, as csvkit and DuckDB
        summary = _staged_run(args, output, folder)
        if to_stdout:
            _copy_to_stdout(Path(output))
    notes = sys.stderr if to_stdout else sys.stdout  # only data on stdout with -o -
    if args.json:
        print(json.dumps(summary.to_dict()), file=notes)
    elif args.output is None or summary.top is not None:
        _print_table(summary, out=notes)
    if args.output is not None and not args.json:
        total = "" if summary.total_loss is None else f"; total loss {_money(summary.total_loss)}"
        where = "standard output" if to_stdout else summary.output
        print(f"wrote {summary.output_rows:,} losses to {where}{total}", file=notes)
    return 0


def _copy_to_stdout(path: Path) -> None:
    """The staged file onto standard output (a reader that stops early: see :func:`main`)."""
    with path.open("rb") as written:
        shutil.copyfileobj(written, sys.stdout.buffer)
    sys.stdout.buffer.flush()


def _stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone (``| head``): poll tells."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _staged_run(args: argparse.Namespace, output: str | None, staging: Path | None) -> Summary:
    """:func:`run` with ``args``; an error on a standard-output staging file names ``-o -``."""
    try:
        return run(
            args.input,
            output,
            formula=args.formula,
            years=args.years,
            discount_rate=args.discount_rate,
            engine=args.engine,
            workers=args.workers,
            chunk_size=args.chunk_size,
            batch_rows=args.batch_rows,
            on_invalid=args.on_invalid,
            rejects=args.rejects,
            preview_rows=0 if args.json or args.output or args.top else PREVIEW_ROWS,
            top=args.top or 0,
            progress=sys.stderr.isatty(),
            keep=args.keep,
            by=args.group_by,
            scheduler=args.scheduler,
            table=args.table,
            query=args.query,
            output_table=args.output_table,
        )
    except OSError as exc:
        if staging is None or not str(exc.filename or "").startswith(str(staging)):
            raise
        where = f"-o - (staged in {staging})"
        raise OSError(exc.errno, exc.strerror, where) from exc


def _risk(args: argparse.Namespace) -> int:
    from vecloss.io.sink import Output, check_targets, together
    from vecloss.risk.result import ORD_TABLES

    outputs = {"output": args.output, "aal": args.aal, "ylt": args.ylt}
    ord_files = {}
    if args.ord is not None:  # checked and staged with the other outputs (D7)
        folder = Path(args.ord)
        names = ORD_TABLES if args.by else ORD_TABLES[:2]  # (a summary map names groups)
        ord_files = {n: str(folder / f"{n}.{args.ord_format}") for n in names}
    if args.ylt and args.exact:
        msg = "--ylt needs a simulation; hint: drop --exact or --ylt"
        raise UsageError(msg)
    src = open_source(args.input, table=args.table, query=args.query)
    to_stdout = args.output in STDOUT
    if to_stdout:
        outputs["output"] = None  # (staged in a scratch folder, below)
    check_targets(src.files, rejects=args.rejects, **(outputs | ord_files))
    with contextlib.ExitStack() as scratch:
        if to_stdout:  # the EP table as CSV on standard output, the notes on standard error
            folder = scratch_folder("stdout")
            scratch.callback(shutil.rmtree, folder, ignore_errors=True)
            outputs["output"] = str(folder / "ep.csv")
        files = {k: Output(v) for k, v in outputs.items() if v is not None}  # suffixes checked
        files |= {f"ord {name}": Output(path) for name, path in ord_files.items()}
        with together(files):  # every destination tried before the simulation (D7)
            result = _risk_result(args)
            tables = {"output": result.ep, "aal": result.aal, "ylt": result.ylt}
            tables |= {f"ord {name}": table for name, table in result.ord_tables().items()}
            for kind, output in files.items():
                table = tables[kind]
                if table is not None:
                    output.write(table)
        if to_stdout:  # (published; copied out before its folder goes)
            _copy_to_stdout(Path(outputs["output"]))
    notes = sys.stderr if to_stdout else sys.stdout
    if args.json:
        print(json.dumps(result.to_dict()), file=notes)
        return 0
    _print_risk(result, out=notes)
    for kind, output in files.items():
        where = "standard output" if to_stdout and kind == "output" else output.target
        print(f"wrote {kind if kind != 'output' else 'EP table'} to {where}", file=notes)
    if result.rejected:
        print(f"rejected: {result.rejected:,} rows, written to {args.rejects}", file=notes)
    return 0


def _risk_result(args: argparse.Namespace) -> RiskResult:
    from vecloss.risk import RETURN_PERIODS, risk

    return risk(
        args.input,
        periods=args.periods,
        seed=args.seed,
        exact=args.exact,
        return_periods=args.return_periods or RETURN_PERIODS,
        by=args.by[0] if args.by and len(args.by) == 1 else args.by,
        shared_by=args.shared_by,
        formula=args.formula,
        years=args.years,
        discount_rate=args.discount_rate,
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_rows=args.batch_rows,
        on_invalid=args.on_invalid,
        rejects=args.rejects,
        progress=sys.stderr.isatty(),
        table=args.table,
        query=args.query,
    )


def _print_risk(result: RiskResult, *, out: TextIO) -> None:
    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        thousands_separator=True,
        float_precision=2,
        tbl_rows=50,
    ):
        print(f"average annual loss ({result.method}):", file=out)
        print(result.aal, file=out)
        print(
            "loss at each return period (OEP: largest event of a year; AEP: the year's total):",
            file=out,
        )
        print(result.curves(), file=out)


def _validate(args: argparse.Namespace) -> int:
    from vecloss.validation import validate

    report = validate(
        args.input,
        formula=args.formula,
        years=args.years,
        discount_rate=args.discount_rate,
        table=args.table,
        query=args.query,
    )
    if args.json:
        problems = report.failures.select("column", "reason", "count", "examples", "hint")
        print(
            json.dumps(
                {
                    "input": report.input,
                    "rows": report.rows,
                    "valid": report.valid,
                    "rejected": report.bad,
                    "problems": problems.to_dicts(),
                }
            )
        )
    elif not report.valid:
        print(f"{report.input}: {report.bad:,} of {report.rows:,} rows break the schema")
        print("\n".join(report.log.lines()))
    else:
        print(f"{report.input}: {report.rows:,} rows, no problems")
    return 0 if report.valid else 1


def _generate(args: argparse.Namespace) -> int:
    from vecloss.synthetic import generate

    generate(args.rows, args.output, seed=args.seed, ids=args.ids)
    print(f"wrote {args.rows:,} buildings to {args.output} (seed {args.seed}, {args.ids} ids)")
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
    if args.risk:
        return _bench_risk(args)
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
    formula = formulas.get(args.formula)
    if args.engines is None:  # (the peers race a formula that declares their expressions)
        undeclared = {"polars": formula.polars, "duckdb": formula.sql}
        engines = [e for e in engines if undeclared.get(e, True) is not None]
    results = measure_engines(
        sizes, engines, repeat=repeat, budget=budget, workers=args.workers, formula=formula
    )
    print(markdown_engines(results))
    e2e = []
    if not (args.no_e2e or args.quick or formula.name != formulas.DEFAULT):
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
    from vecloss.bench.targets import Scale, markdown_targets, measure_targets, write_targets

    scale = (
        Scale(repeat=args.repeat)
        if args.sizes is DEFAULT_SIZES
        else Scale.up_to(max(args.sizes), args.repeat)
    )
    targets = measure_targets(scale, workers=args.workers)
    print(markdown_targets(targets))
    if args.output_dir:
        for path in write_targets(Path(args.output_dir), targets, command=_command()):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _bench_risk(args: argparse.Namespace) -> int:
    from vecloss.bench.risk import markdown_risk, measure_risk, write_risk

    rows = measure_risk(repeat=min(args.repeat, 5), workers=args.workers or 2)
    print(markdown_risk(rows))
    if args.output_dir:
        for path in write_risk(Path(args.output_dir), rows, command=_command()):
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
    "risk": _risk,
    "validate": _validate,
    "generate": _generate,
    "convert": _convert,
    "bench": _bench,
}


_OS_HINTS = {
    errno.ENOSPC: "free some space, or write somewhere else",
    errno.EDQUOT: "free some space, or write somewhere else",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "you may not write (or read) there: check the permissions",
    errno.EPERM: "you may not write (or read) there: check the permissions",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder: name a file",
    errno.ENAMETOOLONG: "the name is too long: use a shorter one",
    errno.ENOENT: "check the path",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.EFBIG: "the file passes a size limit (ulimit -f, or the file system's): write a "
    "smaller output (a grid in several runs, a folder output/) or somewhere else",
}


def os_error_message(exc: OSError) -> str:
    """An operating-system error in one line: the path, what the system said, a hint."""
    where = exc.filename if exc.filename is not None else ""
    said = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno or -1, "check the path and the disk")
    return f"{where}{': ' if where else ''}{said}; hint: {hint}"


@contextlib.contextmanager
def _sigterm_ends_the_run() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        del signum, frame
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    print(f"vecloss: warning: {message}", file=sys.stderr)


def console() -> None:
    """The ``vecloss`` command: :func:`main`, then exit. After Ctrl-C or SIGTERM the cleanup
    has run (staging removed) and the process leaves at once: waiting for helper threads
    still decoding or writing could stall the exit."""
    try:
        code = main()
    except KeyboardInterrupt:  # before main's own handling (building the parser): C1
        print("vecloss: interrupted", file=sys.stderr)
        code = 130
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(), _sigterm_ends_the_run():
            warnings.showwarning = _show_warning
            return COMMANDS[args.command](args)
    except Terminated:
        print("vecloss: terminated", file=sys.stderr)
        return 143
    except VeclossError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"vecloss: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vecloss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        # the reader of standard output stopped early (| head), as other tools: quietly, 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the file system said no: a user's problem, not a bug
        if args.verbose:
            traceback.print_exc()
        print(f"vecloss: error: {os_error_message(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        print(
            f"vecloss: internal error: {type(exc).__name__}: {exc}; "
            "hint: rerun with --verbose and report it",
            file=sys.stderr,
        )
        return 1
