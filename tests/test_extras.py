"""Optional extras fail clearly: exit code 2 naming the extra, before any work is done.

In the full development install the extras are hidden from ``find_spec``; in the
core install (``make test`` runs this file there too) they are really absent.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE
from vecloss.cli import main

EXTRAS = {
    "numba": "jit",
    "distributed": "dask",
    "adbc_driver_sqlite": "sql",
    "duckdb": "bench",
    "matplotlib": "bench",
    "psutil": "bench",
}


@pytest.fixture
def hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every optional module looks uninstalled."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] in EXTRAS:
            return None
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def _packages(extra: str) -> str:
    """The extra's own packages, read from pyproject.toml: the hint must give a command that
    works for an install from a clone, where 'vecloss[extra]' names nothing on the index."""
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    return " ".join(f"'{r}'" for r in project["project"]["optional-dependencies"][extra])


def commands(tmp_path: Path) -> dict[str, list[str]]:
    db = tmp_path / "p.db"
    sqlite3.connect(db).close()
    return {
        "bench": ["bench", "--output-dir", str(tmp_path / "bench")],
        "dask": ["run", str(EXAMPLE), "--engine", "dask", "-o", str(tmp_path / "o.parquet")],
        "sql": ["run", f"sqlite:///{db}", "--table", "buildings"],
    }


@pytest.mark.parametrize("extra", ["bench", "dask", "sql"])
def test_a_missing_extra_is_a_usage_error_naming_it(
    extra: str, hidden: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(commands(tmp_path)[extra]) == 2
    err = capsys.readouterr().err
    assert f"needs the {extra} extra; hint: pip install {_packages(extra)}" in err
    assert "internal error" not in err
    assert not (tmp_path / "bench").exists()
    assert not (tmp_path / "o.parquet").exists()


def test_without_numba_the_numpy_kernels_run(
    hidden: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(EXAMPLE)]) == 0
    assert "total loss: 517.80 " in capsys.readouterr().out


CORE = all(importlib.util.find_spec(m) is None for m in EXTRAS)


@pytest.mark.skipif(not CORE, reason="runs in the core install (no extras), as make test does")
def test_the_core_install_runs_the_example_and_names_each_extra(tmp_path: Path) -> None:
    vecloss = [sys.executable, "-m", "vecloss"]
    done = subprocess.run([*vecloss, "run", str(EXAMPLE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "total loss: 517.80 " in done.stdout
    done = subprocess.run([*vecloss, "run", str(EXAMPLE), "--json"], capture_output=True, text=True)
    assert json.loads(done.stdout)["total_loss"] == 517.8039501919882
    for extra, args in commands(tmp_path).items():
        done = subprocess.run([*vecloss, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (extra, done.stderr)
        assert f"hint: pip install {_packages(extra)}" in done.stderr
