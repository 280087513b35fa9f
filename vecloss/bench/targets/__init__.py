"""The Speed targets, each measured against a peer in the same run.

``vecloss bench --targets`` races, in one process and one run:

- ``vecloss.losses`` against Polars' own expression at every size, both formulas, and the
  NumPy kernels alone (``VECLOSS_JIT=0``, the path without Numba) at the largest;
- the command line on the five-building example against starting Python with polars,
  pyarrow and numpy, and its peak memory;
- JSON arrays in three layouts (pretty-printed, one line, one object a line) against
  DuckDB's ``read_json(format='array')`` to Arrow and ``json.load``, and the same layouts
  at 20M buildings streamed by ``vecloss run`` in a fresh process, for its peak memory;
- Parquet to a total against DuckDB's SQL, Parquet to per-building Parquet against
  Polars' ``sink_parquet``, CSV and NDJSON to a frame against Polars' readers;
- the accuracy of every kernel against the scalar reference.

Timings are medians over repeats run in turn (vecloss, peer, vecloss, ...); a small input
is timed over enough calls for a sample of ~20 ms, and each round starts with the next
contender (the place in a round alone moves a time by ~10 % here), for at least as many
rounds as there are contenders. Beside some targets, bounds measured
in the same run (``target`` empty): what the fastest available reader or writer alone
takes; for Parquet -> total, vecloss's work done as one DuckDB query and one Polars query,
the CPU time of each step, and the floor of any pipeline on the fastest reader (its CPU time
and the least compute after it, shared by the cores); for JSON, what DuckDB's readers make of
a value whose type differs from their sample's. Every contender's answer is checked against
vecloss's.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from vecloss.bench.harness import progress
from vecloss.bench.race import Scale, Target
from vecloss.bench.targets.examples import accuracy, command_line
from vecloss.bench.targets.json_arrays import LAYOUTS, json_arrays, streamed, write_array
from vecloss.bench.targets.parquet import parquet_targets
from vecloss.bench.targets.report import markdown_runs, markdown_targets, write_targets
from vecloss.bench.targets.text import KEY_COUNT, text_targets

__all__ = [
    "KEY_COUNT",
    "LAYOUTS",
    "Scale",
    "Target",
    "markdown_runs",
    "markdown_targets",
    "measure_targets",
    "write_array",
    "write_targets",
]


def measure_targets(scale: Scale | None = None, *, workers: int | None = None) -> list[Target]:
    """Measure every target (and the bounds beside some) in one run."""
    from vecloss.bench.ids import STRINGS, measure_id_targets

    scale = scale or Scale()
    steps = 2 + 2 * len(LAYOUTS) + 4
    bar = progress(steps, "targets")
    with tempfile.TemporaryDirectory(prefix="vecloss-targets-") as tmp:
        folder = Path(tmp)
        targets = list(measure_id_targets(scale, folder, bar))
        targets += [*accuracy(bar), *command_line(scale, bar)]
        targets += [
            t if t.ids != "-" or t.unit == "value" else replace(t, ids=STRINGS)
            for t in (*json_arrays(scale, folder, bar), *streamed(scale, folder, bar))
        ]
        targets += [
            replace(t, ids="sorted ints" if t.work.startswith("Parquet") else STRINGS)
            for t in (
                *parquet_targets(scale, folder, workers, bar),
                *text_targets(scale, folder, workers, bar),
            )
        ]
    bar.close()
    return targets
