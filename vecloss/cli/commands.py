"""The commands ``run``, ``risk``, ``validate``, ``generate`` and ``convert``."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecloss.cli.options import PREVIEW_ROWS
from vecloss.display import counted
from vecloss.exceptions import UsageError, VeclossError
from vecloss.io.atomic import scratch_folder
from vecloss.io.convert import convert
from vecloss.io.source import open_source
from vecloss.run.runner import run
from vecloss.run.summary import Summary

if TYPE_CHECKING:
    from vecloss.risk import RiskResult


from vecloss.cli.printing import _money, _print_risk, _print_table

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
    if args.on_invalid == "skip" and args.rejects is None:
        msg = "skip mode needs a rejects file; hint: add --rejects rejects.csv"
        raise UsageError(msg)
    folder: Path | None = None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_standard_input(args, output_too=True))
        if to_stdout:
            folder = scratch_folder("stdout")  # (one a kill -9 left is swept: C2)
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
            output = str(folder / f"stdout.{args.format or 'csv'}")  # CSV, as csvkit and DuckDB
        summary = _staged_run(args, output, folder)
        if from_stdin:
            summary.input = STDIN
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
        written = counted(summary.output_rows, "loss", "losses")
        rejected = (
            f"; {counted(summary.rejected, 'row')} rejected, written to {summary.rejects}"
            if summary.rejected
            else ""
        )
        print(f"wrote {written} to {where}{total}{rejected}", file=notes)
    return 0


#: What messages call standard input (``-``), whose bytes vecloss reads from a staged copy.
STDIN = "standard input"


@contextlib.contextmanager
def _standard_input(args: argparse.Namespace, *, output_too: bool = False) -> Iterator[None]:
    """With INPUT ``-``: standard input copied to a staged file in the format ``--format``
    names (a file: every reader can stream it, and read it twice), ``args.input`` set to it
    for the command, and the copy's path named "standard input" in errors and warnings.
    ``--format`` with a file is refused unless it names an output's format (``output_too``:
    run's ``-o -``, checked there)."""
    if args.input != "-":
        if args.format is not None and not output_too:
            msg = "--format goes with - (standard input); a file's format follows its suffix"
            raise UsageError(msg)
        yield
        return
    if args.format is None:
        msg = "- reads standard input; hint: name its format: --format csv|ndjson|json|parquet"
        raise UsageError(msg)
    folder = scratch_folder("stdout")  # (one a kill -9 left is swept: C2)
    try:
        args.input = str(folder / f"stdin.{args.format}")
        with Path(args.input).open("wb") as copy:
            shutil.copyfileobj(sys.stdin.buffer, copy)
        with _named(args.input, STDIN):
            yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _named(staged: str, name: str) -> Iterator[None]:
    """Errors and warnings that name the ``staged`` copy of an input name it ``name``: a user
    never sees a temporary path of vecloss's."""
    shown = warnings.showwarning

    def renamed(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
        shown(category(str(message).replace(staged, name)), category, *rest, **kw)

    warnings.showwarning = renamed
    try:
        yield
    except VeclossError as exc:
        exc.args = tuple(a.replace(staged, name) if isinstance(a, str) else a for a in exc.args)
        raise
    finally:
        warnings.showwarning = shown


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
    piped = args.input == "-"
    with _standard_input(args):
        return _risk_of(args, piped=piped)


def _risk_of(args: argparse.Namespace, *, piped: bool) -> int:
    from vecloss.io.sink import Output, check_targets, together
    from vecloss.risk.result import ORD_TABLES

    outputs = {"output": args.output, "aal": args.aal, "ylt": args.ylt}
    ord_files = {}
    if args.ord is not None:  # checked and staged with the other outputs (D7)
        folder = Path(args.ord)
        names = [  # (each sample's curves with drawn damage; a summary map names groups)
            n
            for n in ORD_TABLES
            if (n != "psept" or args.damage_cv is not None) and (n != "summary_map" or args.by)
        ]
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
            if piped:
                result.input = STDIN
            tables = {"output": result.ep, "aal": result.aal, "ylt": result.ylt}
            tables |= {f"ord {name}": table for name, table in result.ord_tables().items()}
            for kind, output in files.items():
                table = tables.get(kind)
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
        print(f"rejected: {counted(result.rejected, 'row')}, written to {args.rejects}", file=notes)
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
        deductible=args.deductible,
        limit=args.limit,
        damage_cv=args.damage_cv,
        samples=args.samples,
        damage_cap=args.damage_cap,
    )


def _validate(args: argparse.Namespace) -> int:
    from vecloss.validation import validate

    piped = args.input == "-"
    with _standard_input(args):
        report = validate(
            args.input,
            formula=args.formula,
            years=args.years,
            discount_rate=args.discount_rate,
            table=args.table,
            query=args.query,
        )
    if piped:
        report.input = STDIN
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
        print(f"{report.input}: {report.breaking}")
        print("\n".join(report.log.lines()))
    else:
        print(f"{report.input}: {counted(report.rows, 'row')}, no problems")
    return 0 if report.valid else 1


def _generate(args: argparse.Namespace) -> int:
    from vecloss.synthetic import generate

    generate(args.rows, args.output, seed=args.seed, ids=args.ids)
    made = counted(args.rows, "building")
    ids = {"strings": "string ids in no order", "shuffled": "integer ids in no order"}
    kind = ids.get(args.ids, "integer ids in order")
    print(f"wrote {made} to {args.output} (seed {args.seed}, {kind})")
    return 0


def _convert(args: argparse.Namespace) -> int:
    with _standard_input(args):
        rows = convert(args.input, args.output)
    print(f"wrote {counted(rows, 'row')} to {args.output}")
    return 0
