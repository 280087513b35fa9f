"""`import vecloss` stays light: no optional or heavy dependency on the core path."""

from __future__ import annotations

import json
import subprocess
import sys

OPTIONAL = [
    "dask",
    "distributed",
    "duckdb",
    "matplotlib",
    "numba",
    "llvmlite",
    "pandas",
    "tqdm",
    "adbc_driver_sqlite",
    "psycopg",
]


def test_import_vecloss_imports_no_optional_dependency() -> None:
    code = (
        "import sys, json, vecloss, vecloss.cli, vecloss.synthetic; "
        f"print(json.dumps([m for m in {OPTIONAL!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_public_api() -> None:
    import vecloss

    assert set(vecloss.__all__) >= {"read", "losses", "run", "VeclossError", "__version__"}


def test_readme_shows_the_schema_as_declared() -> None:
    from pathlib import Path

    from vecloss.schema import reasons_table, schema_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert schema_table() in readme
    assert reasons_table() in readme
