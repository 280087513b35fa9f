"""The accuracy of every kernel against the scalar reference, and the command line on the
five-building example against starting Python with its libraries.
"""

from __future__ import annotations

import compileall
import statistics
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import vecloss
from vecloss.bench.contenders import with_jit
from vecloss.bench.race import FORMULAS, Scale, Target, cli_command, process
from vecloss.reference import reference_loss
from vecloss.synthetic import portfolio


def accuracy(bar: Any) -> Iterator[Target]:
    frame = portfolio(20_000, seed=3)
    rows = list(frame.iter_rows(named=True))
    for formula in FORMULAS:
        expected = np.array([reference_loss(b, 10, 0.05, formula) for b in rows])
        worst = 0.0
        for setting in ("0", "1"):
            loss = with_jit(setting, partial(vecloss.losses, frame, formula=formula))["loss"]
            error = np.abs(loss.to_numpy() - expected)
            assert np.all(error[expected == 0] == 0), formula
            worst = max(worst, float(np.max(error[expected != 0] / expected[expected != 0])))
        yield Target(
            f"accuracy, {formula} (NumPy and compiled kernels)",
            len(rows),
            "-",
            worst,
            None,
            "rel. error",
            1e-12,
        )
    bar.update()


def _example() -> Path:
    for where in (Path.cwd(), Path(vecloss.__file__).resolve().parents[1]):
        if (where / "examples" / "data.json").is_file():
            return where / "examples" / "data.json"
    msg = "the five-building example examples/data.json is not found; run from the repository"
    raise FileNotFoundError(msg)


def command_line(scale: Scale, bar: Any) -> Iterator[Target]:
    bar.set_postfix_str("command line")
    # Bytecode as a wheel install has it (an editable install may have none yet).
    compileall.compile_dir(Path(vecloss.__file__).parent, quiet=1)
    example = _example()
    commands = {
        "vecloss": [*cli_command(), "run", str(example)],
        "python": [sys.executable, "-c", "import polars, pyarrow, numpy"],
    }
    runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
    for command in commands.values():
        process(command)  # warm the page cache
    for _ in range(max(scale.repeat, 9)):
        for name, command in commands.items():
            runs[name].append(process(command))
    wall = {name: statistics.median(s for s, _, _ in r) for name, r in runs.items()}
    peak = statistics.median(m for _, m, _ in runs["vecloss"])
    assert "total loss: 517.80" in runs["vecloss"][-1][2], runs["vecloss"][-1][2]
    work = "vecloss run examples/data.json (whole process)"
    yield Target(
        work,
        5,
        'python -c "import polars, pyarrow, numpy"',
        wall["vecloss"],
        wall["python"],
        "s",
        1.5,
    )
    yield Target(f"{work}: peak memory", 5, "-", peak, None, "MB", 200.0)
    bar.update()
