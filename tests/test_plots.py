"""The shipped plots tell their story honestly: checked properties of the figures and notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vecloss.bench.harness import Measurement

pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _m(engine: str, size: int, seconds: float, *, extrapolated: bool = False) -> Measurement:
    return Measurement(engine, size, seconds, seconds, seconds, 1, 0.0, extrapolated, "ok")


def test_extrapolated_points_are_drawn_apart() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from vecloss.bench.report import scaling_figure

    results = [
        _m("processes", 1_000, 0.05),
        _m("processes", 100_000, 5.0, extrapolated=True),
        _m("vectorized", 1_000, 0.001),
        _m("vectorized", 100_000, 0.01),
    ]
    for m in results:
        base = 0.05 if m.size == 1_000 else 5.0
        m.speedup_vs_processes = base / m.seconds
    fig = scaling_figure(results)
    runtime, speedup = fig.axes
    # runtime: processes measured at 1,000 (solid), extrapolated at 100,000 (hollow, dashed)
    hollow = [line for line in runtime.lines if line.get_markerfacecolor() == "none"]
    assert [list(line.get_xdata()) for line in hollow] == [[100_000]]
    # speedup: vectorized at 100,000 is against an extrapolated pool time: hollow too
    rough = [line for line in speedup.lines if line.get_markerfacecolor() == "none"]
    assert [list(line.get_xdata()) for line in rough] == [[100_000]]
    solid = [line for line in speedup.lines if line.get_linestyle() == "-" and line.get_label()]
    assert all(100_000 not in list(line.get_xdata()) for line in solid)
    (legend,) = speedup.figure.legends  # one legend for both panels, beside them
    labels = [t.get_text() for t in legend.get_texts()]
    assert "extrapolated" in labels
    assert len(set(labels)) == len(labels)
    assert all(t.get_fontsize() >= 10 for t in legend.get_texts())


def _outputs(name: str) -> str:
    notebook = json.loads((NOTEBOOKS / name).read_text())
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def _sources(name: str) -> str:
    notebook = json.loads((NOTEBOOKS / name).read_text())
    return "\n".join("".join(c["source"]) for c in notebook["cells"])


def test_notebook_02_marks_extrapolation_and_reaches_ten_million() -> None:
    source = _sources("02_vectorized_vs_pooled.ipynb")
    assert "scaling_figure(results)" in source
    assert "10_000_000" in source
    assert "peak_mib" not in source  # sampled memory misses fast runs: no panel
    outputs = _outputs("02_vectorized_vs_pooled.ipynb")
    assert "10000000" in outputs.replace(",", "").replace("_", "")


def test_notebook_03_times_each_run_three_times_on_worker_processes() -> None:
    source = _sources("03_scale.ipynb")
    assert "processes=True" in source  # workers are processes, as on a real cluster
    assert "for _ in range(3)" in source  # each run timed three times, the spread drawn
    assert "yerr=spread" in source
    out = _outputs("03_scale.ipynb")
    assert "every building's loss identical: True; same total bits: True" in out


def test_notebook_01_heatmap_is_read_from_the_matrix() -> None:
    source = _sources("01_explore.ipynb")
    horizons = source.split("## Horizons")[-1]
    assert "summary.plot()" in horizons  # Summary.plot() draws summary.matrix
    assert "group_by" not in horizons  # no long table for the heatmap
    assert "falls" in horizons  # why the complex formula's total falls with the years
