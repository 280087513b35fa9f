"""Print the targets of several `vecloss bench --targets` runs side by side (for RESULTS.md).

python benchmarks/scripts/targets_table.py benchmarks/targets/run1 benchmarks/targets/run2 ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from vecloss.bench.targets import markdown_runs

if __name__ == "__main__":
    runs = [pl.read_csv(Path(folder) / "targets.csv") for folder in sys.argv[1:]]
    print(markdown_runs(runs))
