"""Write the benchmark's results: CSV, JSON, Markdown tables and the scaling plot."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.bench.e2e import EndToEnd
from vecloss.bench.harness import Measurement

__all__ = ["machine", "markdown_e2e", "markdown_engines", "plot_scaling", "write_results"]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import os

    import numpy as np
    import polars

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "polars": polars.__version__,
        "platform": platform.platform(),
    }


def _fmt(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def markdown_engines(results: Sequence[Measurement]) -> str:
    """Median seconds per engine (rows) and size (columns); extrapolated marked with ~."""
    sizes = sorted({m.size for m in results})
    engines = list(dict.fromkeys(m.engine for m in results))
    cell = {(m.engine, m.size): m for m in results}
    lines = [
        "| engine | " + " | ".join(f"{s:,}" for s in sizes) + " |",
        "| --- |" + " ---: |" * len(sizes),
    ]
    for name in engines:
        cells = []
        for size in sizes:
            m = cell.get((name, size))
            cells.append("" if m is None else ("~" if m.extrapolated else "") + _fmt(m.seconds))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Median seconds per call on realistic portfolios (string ids in no order). `vectorized` "
        "is `vecloss.losses`: it validates every row (ids present and unique, every number "
        "finite and in range, no overflow) before it answers; `polars` is the bare expression, "
        "which checks nothing."
    )
    if not any(m.engine == "processes" for m in results):
        return "\n".join(lines)
    lines.append("")
    lines.append(
        "Speedup of each engine over `processes` (one task per building on a process pool):"
    )
    lines.append("")
    lines.append("| engine | " + " | ".join(f"{s:,}" for s in sizes) + " |")
    lines.append("| --- |" + " ---: |" * len(sizes))
    for name in engines:
        cells = []
        for size in sizes:
            m = cell.get((name, size))
            if m is None or math.isnan(m.speedup_vs_processes):
                cells.append("")
                continue
            approx = m.extrapolated or cell[("processes", size)].extrapolated
            cells.append(("~" if approx else "") + f"{m.speedup_vs_processes:,.3g}x")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_e2e(results: Sequence[EndToEnd]) -> str:
    """One row per (task, contender): median, and time as a multiple of vecloss's."""
    lines = [
        "| task | rows | contender | median | min | max | x vecloss |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.task} | {r.rows:,} | {r.contender} | {_fmt(r.seconds)} | "
            f"{_fmt(r.min_seconds)} | {_fmt(r.max_seconds)} | {r.ratio_to_vecloss:.2f} |"
        )
    return "\n".join(lines)


def plot_scaling(results: Sequence[Measurement], path: Path) -> Path:
    """Write :func:`scaling_figure` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = scaling_figure(results)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scaling_figure(results: Sequence[Measurement]) -> Any:
    """Runtime vs buildings (log-log, one line per engine) and speedup over processes.

    Measured points are filled markers on solid lines; a point extrapolated past
    the time budget (or a speedup against an extrapolated ``processes`` time)
    is a hollow marker on a dashed line, and the legend says so.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.2), layout="constrained")
    engines = list(dict.fromkeys(m.engine for m in results))
    tab20 = plt.get_cmap("tab20")  # one colour an engine (the default cycle has 10)
    palette = [tab20(k / 19) for k in [*range(0, 20, 2), *range(1, 20, 2)]]
    for index, name in enumerate(engines):
        points = sorted((m for m in results if m.engine == name), key=lambda m: m.size)
        measured = [m for m in points if not m.extrapolated]
        guessed = [m for m in points if m.extrapolated]
        (line,) = left.plot(
            [m.size for m in measured],
            [m.seconds for m in measured],
            "o-",
            label=name,
            color=palette[index % 20],
        )
        if guessed:
            bridge = measured[-1:] + guessed
            left.plot(
                [m.size for m in bridge], [m.seconds for m in bridge], "--", color=line.get_color()
            )
            left.plot(
                [m.size for m in guessed],
                [m.seconds for m in guessed],
                "o",
                mfc="none",
                color=line.get_color(),
            )
        guessed_base = {m.size for m in results if m.engine == "processes" and m.extrapolated}
        speed = [m for m in points if not math.isnan(m.speedup_vs_processes)]
        if speed and name != "processes":
            sure = [m for m in speed if not (m.extrapolated or m.size in guessed_base)]
            rough = [m for m in speed if m.extrapolated or m.size in guessed_base]
            color = line.get_color()
            right.plot(
                [m.size for m in sure],
                [m.speedup_vs_processes for m in sure],
                "o-",
                label=name,
                color=color,
            )
            if rough:
                bridge = sure[-1:] + rough
                right.plot(
                    [m.size for m in bridge],
                    [m.speedup_vs_processes for m in bridge],
                    "--",
                    color=color,
                )
                right.plot(
                    [m.size for m in rough],
                    [m.speedup_vs_processes for m in rough],
                    "o",
                    mfc="none",
                    color=color,
                )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="buildings",
        ylabel="seconds (median)",
        title="Runtime (hollow markers, dashed: extrapolated)",
    )
    right.set(
        xscale="log",
        yscale="log",
        xlabel="buildings",
        ylabel="x faster than processes",
        title="Speedup over a process pool (hollow, dashed: extrapolated)",
    )
    right.axhline(1.0, color="grey", lw=0.8)
    key = [
        Line2D([], [], color="black", marker="o", linestyle="-", label="measured"),
        Line2D([], [], color="black", marker="o", mfc="none", linestyle="--", label="extrapolated"),
    ]
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    handles, _ = left.get_legend_handles_labels()
    fig.legend(handles=[*handles, *key], fontsize=10, loc="outside right center")
    return fig


def write_results(
    folder: Path,
    engines: Sequence[Measurement],
    e2e: Sequence[EndToEnd],
    *,
    command: str,
    plot: bool = True,
) -> list[Path]:
    """Write results.csv, e2e.csv, results.json, results.md and scaling.png into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if engines:
        pl.DataFrame([m.row() for m in engines]).write_csv(folder / "results.csv")
        written.append(folder / "results.csv")
    if e2e:
        pl.DataFrame([r.row() for r in e2e]).write_csv(folder / "e2e.csv")
        written.append(folder / "e2e.csv")
    doc = {
        "command": command,
        "machine": machine(),
        "engines": [m.row() for m in engines],
        "end_to_end": [r.row() for r in e2e],
    }
    (folder / "results.json").write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n")
    written.append(folder / "results.json")
    md = [f"Command: `{command}`", "", f"Machine: {doc['machine']}", ""]
    if engines:
        md += [markdown_engines(engines), ""]
    if e2e:
        md += [markdown_e2e(e2e), ""]
    (folder / "results.md").write_text("\n".join(md))
    written.append(folder / "results.md")
    if plot and engines:
        written.append(plot_scaling(engines, folder / "scaling.png"))
    return written
