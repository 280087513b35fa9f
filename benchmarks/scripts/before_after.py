"""Two checkouts of vecloss, raced in turns on the same machine: is a change free of cost?

    python benchmarks/scripts/before_after.py OLD_TREE NEW_TREE [--sizes 1000,...] [--rounds 3]

Each round runs one fresh process per tree (their order alternates from round to round); each
process times ``vecloss.losses`` (medians over calls of ~0.2 s at least) for every built-in
formula of the old tree, on ``vecloss.portfolio`` frames (string ids in no order, and sorted
integer ids), and ``vecloss.run`` of a Parquet file to its total, and prints its peak memory.
The table gives, per row, the new tree's median over the old one's (each the median of the
rounds' medians), and checks that both trees gave the same bits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import hashlib, json, resource, statistics, sys, time
import numpy as np
import vecloss

sizes = [int(s) for s in sys.argv[1].split(",")]
parquet = sys.argv[2]
out = {}

def timed(fn, least=0.2):
    fn()
    times, result, started = [], None, time.perf_counter()
    while len(times) < 5 or time.perf_counter() - started < least:
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result

for ids in ("strings", "sorted"):
    for n in sizes:
        frame = vecloss.portfolio(n, seed=1, ids=ids)
        for formula in ("complex", "simple"):
            seconds, result = timed(lambda: vecloss.losses(frame, formula=formula))
            loss = result["loss"].to_numpy()
            digest = hashlib.sha256(loss.tobytes()).hexdigest()
            out[f"losses {formula} {ids} {n}"] = [seconds, float(np.sum(loss)), digest]
seconds, summary = timed(lambda: vecloss.run(parquet), least=1.0)
out["run parquet -> total"] = [seconds, summary.total_loss, ""]
out["peak MB"] = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0.0, ""]
print(json.dumps(out))
"""


def probe(tree: Path, sizes: str, parquet: Path) -> dict[str, list[float | str]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, sizes, str(parquet)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    result: dict[str, list[float | str]] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000,10000000")
    parser.add_argument("--parquet-rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import vecloss  # (any tree: only to write the Parquet file)

    runs: dict[str, list[dict[str, list[float | str]]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        parquet = vecloss.generate(args.parquet_rows, Path(tmp) / "p.parquet", seed=3)
        for k in range(args.rounds):
            order = ["old", "new"] if k % 2 == 0 else ["new", "old"]
            for name in order:
                runs[name].append(probe(getattr(args, name), args.sizes, parquet))
                print(f"round {k + 1}: {name} done", file=sys.stderr)
    print(f"`{' '.join(sys.argv)}`, {args.rounds} rounds\n")
    print("| work | old | new | new / old | same bits |")
    print("| --- | ---: | ---: | ---: | --- |")
    for key in runs["old"][0]:
        old = statistics.median(float(r[key][0]) for r in runs["old"])
        new = statistics.median(float(r[key][0]) for r in runs["new"])
        same = all(r[key][1:] == runs["old"][0][key][1:] for r in runs["old"] + runs["new"])
        unit = "MB" if key == "peak MB" else "ms"
        scale = 1.0 if unit == "MB" else 1e3
        print(
            f"| {key} | {old * scale:,.3g} {unit} | {new * scale:,.3g} {unit} | "
            f"{new / old:.2f}x | {'yes' if same else '**no**'} |"
        )


if __name__ == "__main__":
    main()
