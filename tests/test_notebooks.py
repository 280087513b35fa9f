"""The five notebooks run from top to bottom, and every cell that draws makes an image (the
analyst's second afternoon: a plot cell that silently draws nothing is a broken notebook)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DRAWS = (".plot(", "plt.subplots(", "scaling_figure(")

#: The benchmark notebook on fewer sizes and shorter budgets (its figures are published from a
#: full run; here it proves that every cell runs and draws): 93 s to about 15 s.
SHORTER = {
    "02_vectorized_vs_pooled": [
        (
            "sizes = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]",
            "sizes = [1_000, 10_000, 100_000, 1_000_000]",
        ),
        ('budget=12.0, budgets={"processes": 40.0}', 'budget=1.0, budgets={"processes": 4.0}'),
    ]
}


def test_there_are_five_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_runs_and_each_plot_cell_makes_an_image(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(path, as_version=4)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's (and Dask workers') temporary files
    beside = set(path.parent.iterdir())
    for old, new in SHORTER.get(path.stem, []):
        cells = [c for c in notebook.cells if old in c.source]
        assert len(cells) == 1, f"{path.name} no longer says {old!r}: update SHORTER"
        cells[0].source = cells[0].source.replace(old, new)
    client = nbclient.NotebookClient(
        notebook,
        timeout=1200,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # (a cell that raises fails the test, naming the cell)
    drawn = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or not any(word in cell.source for word in DRAWS):
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: this cell draws but made no image:\n{cell.source[:300]}"
        drawn += 1
    if path.stem != "04_dirty_data":  # (04 is tables only)
        assert drawn, f"{path.name} draws nothing"
    # What a notebook writes goes when it ends: each run of these once left ~600 MB behind.
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith("vecloss")]
    assert not left, f"{path.name} left {left} in the temporary folder"
    assert set(path.parent.iterdir()) == beside, f"{path.name} left files beside the notebooks"
