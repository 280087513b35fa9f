"""`import vecloss` stays light: no optional or heavy dependency on the core path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_a_json_run_loads_no_pyarrow() -> None:
    # pyarrow (and, where installed, the cloudpickle it brings) cost ~0.1 s of a five-building
    # run's start-up here: it loads only where used (Parquet, Arrow IPC, pyarrow frames)
    example = Path(__file__).resolve().parents[1] / "examples" / "data.json"
    code = (
        "import sys\n"
        "from vecloss.cli import main\n"
        "try:\n"
        f"    main(['run', {str(example)!r}, '--json'])\n"
        "finally:\n"
        "    print('pyarrow' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_loss"] > 0
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_public_api() -> None:
    import vecloss

    assert set(vecloss.__all__) >= {"read", "losses", "run", "VeclossError", "__version__"}


def test_readme_shows_the_schema_as_declared() -> None:
    from pathlib import Path

    from vecloss.schema import reasons_table, schema_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert schema_table() in readme
    assert reasons_table() in readme
