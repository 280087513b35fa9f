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


def test_there_are_five_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_notebook_runs_and_each_plot_cell_makes_an_image(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
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
