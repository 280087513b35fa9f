"""``vecloss bench``: the engines race, the targets and the risk targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vecloss import formulas
from vecloss.cli.options import DEFAULT_SIZES
from vecloss.exceptions import require
from vecloss.names import CONTENDERS

if TYPE_CHECKING:
    pass


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
        budget = min(budget, 10.0)  # (the slow engines sample less: see measure_engines)
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
