"""The targets as tables: one run's (``targets.md``, ``targets.csv``), runs side by side."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

import vecloss
from vecloss.bench.race import Target


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
