"""The ``vecloss`` command line's options: argument types, defaults and the parser."""

from __future__ import annotations

import argparse
from typing import Any

from vecloss import __version__, formulas
from vecloss.cli.examples import help_examples
from vecloss.cli.values import (
    parse_columns,
    parse_count,
    parse_formula,
    parse_names,
    parse_number_or_column,
    parse_positive,
    parse_rate,
    parse_return_periods,
    parse_seed,
    parse_sizes,
    parse_years,
)
from vecloss.names import CONTENDERS_ABOUT, ENGINES
from vecloss.run.worker import DEFAULT_BATCH_ROWS

__all__ = ["DEFAULT_SIZES", "PREVIEW_ROWS", "build_parser"]

PREVIEW_ROWS = 20

#: What each ``bench --engines`` name is (the contenders of vecloss.bench.contenders).
DEFAULT_SIZES = [10**k for k in range(2, 8)]


def _add_model_options(parser: argparse.ArgumentParser, *, grid: bool = True) -> None:
    """``--formula``, ``--years``, ``--discount-rate``; lists make a grid where ``grid``."""
    parser.add_argument(
        "--formula",
        type=parse_formula,
        default=formulas.DEFAULT,
        metavar="NAME",
        help="; ".join(f.describe() for f in formulas.REGISTRY.values())
        + f"; or a user formula as package.module:name (default: {formulas.DEFAULT})",
    )
    every = "; a list like {} runs every pair" if grid else "; one value (one scenario)"
    parser.add_argument(
        "--years",
        type=parse_years,
        default=10,
        metavar="N[,N...]" if grid else "N",
        help=f"horizon T in years{every.format('10,30')} (default: 10)",
    )
    parser.add_argument(
        "--discount-rate",
        type=parse_rate,
        default=0.05,
        metavar="R[,R...]" if grid else "R",
        help="annual discount rate d as a fraction (0.05 is 5%%)"
        f"{every.format('0.03,0.05')} (default: 0.05)",
    )


def _add_batch_options(
    parser: argparse.ArgumentParser, *, default: int | None, grid: str, doing: str
) -> None:
    """``--batch-rows``, ``--on-invalid``, ``--rejects``: how the input is read and checked."""
    parser.add_argument(
        "--batch-rows",
        type=parse_positive,
        default=default,
        metavar="N",
        help=f"rows read and computed at a time; bounds memory, never changes a result "
        f"(default: {DEFAULT_BATCH_ROWS:,}{grid})",
    )
    parser.add_argument(
        "--on-invalid",
        choices=["fail", "skip"],
        default="fail",
        help=f"fail: report every bad row and write nothing (default); skip: set bad rows aside "
        f"in --rejects and {doing} the rest",
    )
    parser.add_argument(
        "--rejects", metavar="PATH", help="where skip mode puts bad rows, with reasons"
    )


#: The formats standard input can be given in (``--format``).
STDIN_FORMATS = ["csv", "ndjson", "json", "parquet"]


def _add_input(
    parser: argparse.ArgumentParser,
    help_text: str = "portfolio file, folder, glob or database; - for standard input (with "
    "--format)",
) -> None:
    """INPUT, and ``--format`` for ``-`` (standard input), as the commands other than run take
    them (run's --format also names the format of -o -)."""
    parser.add_argument("input", metavar="INPUT", help=help_text)
    parser.add_argument(
        "--format", choices=STDIN_FORMATS, help="the format of - (standard input as INPUT)"
    )


def _add_database_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--table", metavar="NAME", help="with a database INPUT: the table to read")
    source.add_argument("--query", metavar="SQL", help="with a database INPUT: the query to run")


def _add_risk_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "risk",
        parents=[common],
        **help_examples("risk"),
        help="average annual loss, exceedance curves, VaR and TVaR (simulated or exact)",
        description="Simulate seeded periods (years) of hazard hits, or compute exactly, and "
        "report the average annual loss and the OEP/AEP curves with their TVaR.",
    )
    _add_input(p)
    p.add_argument(
        "--periods",
        type=parse_positive,
        default=None,
        metavar="N",
        help="simulated periods (default: 10,000, a multiple of every default return period)",
    )
    p.add_argument("--seed", type=parse_seed, default=None, metavar="S", help="default: 0")
    p.add_argument(
        "--exact", action="store_true", help="the exact answer, no simulation (AEP: small inputs)"
    )
    p.add_argument(
        "--return-periods",
        type=parse_return_periods,
        default=None,
        metavar="R,R",
        help="years between exceedances (default: 10,50,100,250,500)",
    )
    p.add_argument(
        "--by",
        type=parse_columns,
        metavar="COL[,COL]",
        help="one AAL and set of curves per group of these columns",
    )
    p.add_argument(
        "--shared-by",
        metavar="COLUMN",
        help="buildings with the same value share one draw per period (one event)",
    )
    p.add_argument(
        "--deductible",
        metavar="COLUMN",
        help="each building's deductible (money): insured results beside the gross ones",
    )
    p.add_argument(
        "--limit",
        metavar="COLUMN",
        help="each building's limit (money): insured results beside the gross ones",
    )
    p.add_argument(
        "--damage-cv",
        type=parse_number_or_column,
        metavar="CV|COLUMN",
        help="damage uncertainty: each hit costs its loss times a lognormal draw of mean 1 "
        "and this coefficient of variation (a number, or a column of them)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=1,
        metavar="N",
        help="damage draws per hit (with --damage-cv; default 1): OasisLMF's four EP "
        "calculations, each sample's curves (PSEPT) and the AAL's error split",
    )
    p.add_argument(
        "--damage-cap",
        type=parse_number_or_column,
        metavar="MONEY|COLUMN",
        help="the largest loss of one damage draw (with --damage-cv), before the terms",
    )
    _add_model_options(p, grid=False)
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the EP table here (format by suffix; - for standard output, as CSV)",
    )
    p.add_argument("--aal", metavar="PATH", help="write the AAL table here")
    p.add_argument("--ylt", metavar="PATH", help="write the year-loss table here (simulated)")
    p.add_argument(
        "--ord",
        metavar="DIR",
        help="write OasisLMF's ORD tables (ept, alt, summary_map) into this folder",
    )
    p.add_argument(
        "--ord-format",
        choices=["csv", "parquet"],
        default="csv",
        help="the ORD tables' format (default: csv)",
    )
    p.add_argument(
        "--engine",
        choices=["vectorized", "dask"],
        default="vectorized",
        help="dask: the parts of the source on a cluster (default: vectorized, in this process)",
    )
    p.add_argument(
        "--workers", type=parse_positive, default=None, metavar="N", help="dask: default the cores"
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask: an existing cluster")
    _add_batch_options(p, default=DEFAULT_BATCH_ROWS, grid="", doing="tally")
    _add_database_options(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vecloss",
        description="Projected losses for portfolios of buildings, in one vectorized pass.",
    )
    parser.add_argument("--version", action="version", version=f"vecloss {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        parents=[common],
        **help_examples("run"),
        help="compute every building's loss",
        description="Compute every building's projected loss, streaming the input in batches.",
    )
    p.add_argument(
        "input",
        metavar="INPUT",
        help="portfolio file (.json .ndjson .csv .parquet .arrow ...), folder, glob or database;"
        " - for standard input (with --format)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="write buildingId, loss here (format by suffix; a folder/ for Parquet parts; "
        "- for standard output, CSV unless --format says otherwise)",
    )
    p.add_argument(
        "--format",
        choices=STDIN_FORMATS,
        help="the format of - (standard input as INPUT, or standard output as -o -)",
    )
    p.add_argument(
        "--top", type=parse_positive, default=None, metavar="N", help="show the N largest losses"
    )
    _add_model_options(p)
    p.add_argument("--engine", choices=ENGINES, default="vectorized", help="default: vectorized")
    p.add_argument(
        "--workers", type=parse_positive, default=None, metavar="N", help="default: the core count"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="dask: an existing cluster (tcp://HOST:PORT); default: a local one",
    )
    p.add_argument(
        "--chunk-size",
        type=parse_positive,
        default=None,
        metavar="N",
        help="threads/processes: one task per N buildings instead of one per building",
    )
    _add_batch_options(p, default=None, grid=", divided by the pairs of a grid", doing="compute")
    p.add_argument(
        "--keep", type=parse_columns, default=[], metavar="COL,COL", help="carry input columns out"
    )
    p.add_argument(
        "--by",
        "--group-by",
        dest="group_by",
        type=parse_columns,
        metavar="COL[,COL]",
        help="totals, counts and mean loss per group of these columns (by= in Python; "
        "--group-by also works)",
    )
    _add_database_options(p)
    p.add_argument(
        "--output-table", metavar="NAME", help="with a database -o: the table to (re)place"
    )
    p.add_argument("--json", action="store_true", help="print only the summary, as JSON")

    _add_risk_parser(sub, common)

    p = sub.add_parser(
        "validate",
        parents=[common],
        **help_examples("validate"),
        help="report every problem, change nothing",
        description="Check every row against the schema and print each problem with a hint; "
        "exit 1 if any row breaks it.",
    )
    _add_input(p)
    _add_model_options(p)
    _add_database_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser(
        "generate",
        parents=[common],
        **help_examples("generate"),
        help="write a seeded synthetic portfolio",
        description="Write N synthetic buildings shaped like a real portfolio (string ids in "
        "no order, a region, hazard probabilities with a mean near 1 %%; seeded: the same seed, "
        "the same file), in chunks, to PATH (format by suffix).",
    )
    p.add_argument(
        "rows", type=parse_count, metavar="N", help="how many buildings (1e6 is accepted)"
    )
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="where to write them")
    p.add_argument("--seed", type=parse_seed, default=0, help="default: 0")
    p.add_argument(
        "--ids",
        choices=("strings", "shuffled", "sorted"),
        default="strings",
        help="building ids: 'LOC-' strings in no order (default), the integers 1..N in no "
        "order, or in order",
    )

    p = sub.add_parser(
        "convert",
        parents=[common],
        **help_examples("convert"),
        help="copy a portfolio to another format",
        description="Copy a portfolio file to another format (by suffix), streaming.",
    )
    _add_input(p, "the file to read; - for standard input (with --format)")
    p.add_argument("output", metavar="OUTPUT", help="the file to write (format by suffix)")

    p = sub.add_parser("bench", parents=[common], help="race the engines, the baselines and peers")
    p.add_argument(
        "--sizes", type=parse_sizes, default=DEFAULT_SIZES, metavar="N,N", help="default: 1e2..1e7"
    )
    p.add_argument(
        "--engines",
        type=parse_names,
        default=None,
        metavar="NAME,NAME",
        help="default: all of them: "
        + "; ".join(f"{name}: {about}" for name, about in CONTENDERS_ABOUT.items()),
    )
    p.add_argument("--repeat", type=parse_positive, default=5, metavar="N", help="default: 5")
    p.add_argument(
        "--budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="extrapolate runs predicted to take longer (default: 60)",
    )
    p.add_argument(
        "--workers",
        type=parse_positive,
        default=None,
        metavar="N",
        help="pool size (default: cores)",
    )
    p.add_argument("--output-dir", metavar="DIR", help="write results.csv/json/md and scaling.png")
    p.add_argument(
        "--formula",
        type=parse_formula,
        default=formulas.DEFAULT,
        metavar="NAME",
        help="the formula raced: a built-in's name or package.module:name (default: "
        f"{formulas.DEFAULT}; the end-to-end file tasks run only with it)",
    )
    p.add_argument("--no-e2e", action="store_true", help="skip the end-to-end file tasks")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a short comparison: 1,000 and 20,000 buildings, a few engines",
    )
    p.add_argument(
        "--risk",
        action="store_true",
        help="the risk targets: simulation speed against a dense NumPy baseline, streamed "
        "memory, simulation against the exact answer, the same bits across executions",
    )
    p.add_argument(
        "--targets",
        action="store_true",
        help="the Speed targets, each as a ratio to its peer (at the largest of --sizes, "
        "default 10,000,000; text formats at 1,000,000)",
    )
    return parser
