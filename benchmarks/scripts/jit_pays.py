"""Where the compiled kernels pay: their fixed cost per process against their saving per row.

Run from the project root with the development install (`.venv/bin/python
benchmarks/scripts/jit_pays.py`). Prints the first-call time of `vecloss.losses` on
the 5-building example in fresh processes (NumPy kernels vs compiled, cache warm),
and the median time of `vecloss.losses` on 10M buildings with each, same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

FIRST_CALL = """
import os, time, vecloss
frame = vecloss.read("examples/data.json")
t = time.perf_counter(); vecloss.losses(frame); print(time.perf_counter() - t)
"""


def first_call(setting: str) -> float:
    env = {**os.environ, "VECLOSS_JIT": setting}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def main() -> None:
    import vecloss
    from vecloss.api import validated
    from vecloss.synthetic import portfolio

    for setting in ("1", "0"):
        first_call(setting)  # compile and cache once
    fixed = {s: statistics.median(first_call(s) for _ in range(5)) for s in ("0", "1")}
    print(f"first call, fresh process: numpy {fixed['0']:.3f} s, compiled {fixed['1']:.3f} s")
    frame = validated(portfolio(10_000_000, seed=0))
    for formula in ("complex", "simple"):
        times: dict[str, list[float]] = {"0": [], "1": []}
        for _ in range(3):
            for setting in ("0", "1"):
                os.environ["VECLOSS_JIT"] = setting
                vecloss.losses(frame, formula=formula)
                for _ in range(5):
                    start = time.perf_counter()
                    vecloss.losses(frame, formula=formula)
                    times[setting].append(time.perf_counter() - start)
        numpy_s, compiled_s = (statistics.median(times[s]) for s in ("0", "1"))
        saving = (numpy_s - compiled_s) / 10  # per million rows
        print(
            f"{formula}: 10M rows numpy {numpy_s * 1e3:.1f} ms, compiled {compiled_s * 1e3:.1f} ms;"
            f" saves {saving * 1e3:.2f} ms per 1M rows; pays from"
            f" {(fixed['1'] - fixed['0']) / max(saving, 1e-12):,.0f}M rows"
        )


if __name__ == "__main__":
    main()
