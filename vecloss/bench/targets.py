"""The Speed targets, each as a ratio to a peer measured in the same run.

``vecloss bench --targets`` races, on one seeded portfolio, ``vecloss.losses``
(validation on) against Polars' own expression, DuckDB's SQL over the same
Arrow data and the memory floor, for both formulas; then the end-to-end file
tasks (:mod:`vecloss.bench.e2e`). Every ratio is vecloss's median time over
the peer's median time: below 1 means faster than the peer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.bench.e2e import READ_ONLY, WRITE_ONLY, EndToEnd, measure_end_to_end
from vecloss.bench.harness import Measurement, measure_engines

__all__ = [
    "IN_MEMORY",
    "ON_FILES",
    "Target",
    "markdown_targets",
    "measure_targets",
    "write_targets",
]

#: In memory: (peer contender, the largest ratio that meets the target).
IN_MEMORY = (("polars", 0.33), ("duckdb", 0.25), ("floor", 1.3))
#: On files: (task, peer, the largest ratio that meets the target).
ON_FILES = (
    ("parquet->total", "duckdb", 1.0),
    ("parquet->losses parquet", "polars", 1.0),
    ("json array->frame", "json.load", 0.25),
    ("csv->frame", "polars.read_csv", 1.0),
    ("ndjson->frame", "polars.read_ndjson", 1.0),
)


@dataclass
class Target:
    """One target: vecloss's time over a peer's, against the ratio to reach."""

    work: str
    rows: int
    peer: str
    vecloss_seconds: float
    peer_seconds: float
    ratio: float
    target: float | None  # None: not a target, a bound measured beside one

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def _target(
    work: str, rows: int, peer: str, ours: float, theirs: float, goal: float | None
) -> Target:
    return Target(work, rows, peer, ours, theirs, ours / theirs, goal)


def measure_targets(
    rows: int = 10_000_000,
    text_rows: int = 1_000_000,
    *,
    repeat: int = 7,
    workers: int | None = None,
) -> tuple[list[Target], list[Measurement], list[EndToEnd]]:
    """Measure every target; return them with the raw measurements they come from."""
    engines = ["vectorized", "numpy", *(peer for peer, _ in IN_MEMORY)]
    targets: list[Target] = []
    measured: list[Measurement] = []
    for formula in ("complex", "simple"):
        results = measure_engines(
            [rows], engines, repeat=repeat, budget=600.0, workers=workers, formula=formula
        )
        median = {m.engine: m.seconds for m in results}
        work = f"vecloss.losses, {formula}, in memory"
        for peer, goal in IN_MEMORY:
            targets.append(_target(work, rows, peer, median["vectorized"], median[peer], goal))
        targets.append(  # the NumPy kernels, for before / after in the same run
            _target(
                f"{work} (NumPy kernels)", rows, "polars", median["numpy"], median["polars"], 0.33
            )
        )
        measured += results
    e2e = measure_end_to_end(rows, text_rows, repeat=max(3, repeat // 2), workers=workers)
    by_task = {(r.task, r.contender): r for r in e2e}
    for task, peer, goal in ON_FILES:
        ours, theirs = by_task[(task, "vecloss")], by_task[(task, peer)]
        targets.append(_target(task, ours.rows, peer, ours.seconds, theirs.seconds, goal))
        bound = {"parquet->total": READ_ONLY, "parquet->losses parquet": WRITE_ONLY}.get(task)
        if bound is not None:  # what bounds it: decoding, or writing, alone
            alone = by_task[(task, bound)]
            targets.append(
                _target(f"{task}: {bound}", alone.rows, peer, alone.seconds, theirs.seconds, None)
            )
    return targets, measured, e2e


def markdown_targets(targets: Sequence[Target]) -> str:
    """One row per target: the two medians, the ratio, the target, met or not."""
    lines = [
        "| work | rows | peer | vecloss | peer | ratio | target | met |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in targets:
        lines.append(
            f"| {t.work} | {t.rows:,} | {t.peer} | {t.vecloss_seconds * 1e3:,.1f} ms | "
            f"{t.peer_seconds * 1e3:,.1f} ms | {t.ratio:.2f}x | "
            + ("(a bound) | - |" if t.target is None else f"<= {t.target:g}x | ")
            + ("" if t.met is None else ("yes |" if t.met else "no |"))
        )
    return "\n".join(lines)


def write_targets(folder: Path, targets: Sequence[Target], *, command: str) -> list[Path]:
    """Write targets.csv and targets.md (with the command) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame([t.row() for t in targets]).write_csv(folder / "targets.csv")
    (folder / "targets.md").write_text(f"Command: `{command}`\n\n{markdown_targets(targets)}\n")
    return [folder / "targets.csv", folder / "targets.md"]
