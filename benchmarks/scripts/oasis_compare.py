"""vecloss's risk tables against OasisLMF's own ``aalpy`` and ``lecpy`` on the same events.

    python benchmarks/scripts/oasis_compare.py --oasis-python /path/to/venv/bin/python

``oasislmf`` (2.5.8 here) lives in a virtual environment of its own (``pip install
oasislmf==2.5.8``); CI does not install it. The script simulates a realistic portfolio with
vecloss (``vecloss.risk``, independent buildings, no groups), takes the very hits vecloss drew
(each building's own stream: ``vecloss.risk.hits.independent_hits``), writes them as Oasis
files (``input/occurrence.bin``: one event per hit, in its period; ``work/S1/P1.bin``: a
summary stream, one summary, each event's loss as its mean, ``sidx -1``; ``returnperiods.bin``),
runs ``aalpy -a`` and ``lecpy -F -f -r`` on them, and prints vecloss's ALT and EPT next to
Oasis's: AAL and SD, and the OEP and AEP VaR and TVaR at every return period. Oasis keeps
losses as float32, so the figures agree to float32's precision (~6e-8 relative), not to the bit.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

import vecloss
from vecloss.risk.draws import stream_keys, value_keys
from vecloss.risk.hits import independent_hits
from vecloss.risk.tally import severity
from vecloss.scenario import Scenario

RETURN_PERIODS = (10, 50, 100, 250, 500)


def oasis_files(run_dir: Path, periods: int, period: np.ndarray, loss: np.ndarray) -> None:
    """Oasis's occurrence file, summary stream and return periods for events (one per hit)."""
    order = np.argsort(period, kind="stable")
    period, loss = period[order], loss[order]
    events = np.arange(1, len(period) + 1, dtype=np.int32)
    (run_dir / "input").mkdir(parents=True)
    occurrence = np.zeros(len(events), dtype=[("e", "<i4"), ("p", "<i4"), ("d", "<i4")])
    occurrence["e"], occurrence["p"], occurrence["d"] = events, period, period
    header = np.array([0, periods], dtype="<i4").tobytes()  # date options 0, the periods
    (run_dir / "input" / "occurrence.bin").write_bytes(header + occurrence.tobytes())
    (run_dir / "input" / "returnperiods.bin").write_bytes(
        np.array(sorted(RETURN_PERIODS, reverse=True), dtype="<i4").tobytes()
    )
    record = np.dtype(
        [
            ("event", "<i4"),
            ("summary", "<i4"),
            ("exposure", "<f4"),
            ("mean_sidx", "<i4"),
            ("mean", "<f4"),
            ("end_sidx", "<i4"),
            ("end", "<f4"),
        ]
    )
    body = np.zeros(len(events), dtype=record)
    body["event"], body["summary"], body["exposure"] = events, 1, loss
    body["mean_sidx"], body["mean"] = -1, loss
    stream_type = np.array([1], "<i4").tobytes()[:3] + np.int8(3).tobytes()  # a summary stream
    head = stream_type + np.array([0, 1], dtype="<i4").tobytes()  # no samples, summary set 1
    (run_dir / "work" / "S1").mkdir(parents=True)
    (run_dir / "work" / "S1" / "P1.bin").write_bytes(head + body.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oasis-python", required=True, help="the Python that has oasislmf")
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--periods", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    frame = vecloss.portfolio(args.rows, seed=5)
    result = vecloss.risk(
        frame, periods=args.periods, seed=args.seed, return_periods=RETURN_PERIODS
    )
    p = frame["hazard_probability"].to_numpy()
    loss = severity(frame, Scenario.parse("complex", 10, 0.05))
    keys = stream_keys(value_keys(frame["buildingId"]), args.seed, 1)  # the hits' stream
    building, period = independent_hits(keys, p, args.periods)
    bin_dir = Path(args.oasis_python).parent
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        oasis_files(run_dir, args.periods, period, loss[building])
        common = ["--run_dir", str(run_dir), "-K", "S1"]
        subprocess.run([bin_dir / "aalpy", *common, "-a", str(run_dir / "alt.csv")], check=True)
        lec = [bin_dir / "lecpy", *common, "-F", "-f", "-r", "-O", str(run_dir / "ept.csv")]
        subprocess.run(lec, check=True)
        oasis_alt = pl.read_csv(run_dir / "alt.csv").with_columns(
            pl.col("MeanLoss", "SDLoss").cast(pl.Float64)  # ("nan" for the absent samples)
        )
        oasis_ept = pl.read_csv(run_dir / "ept.csv")
    ours = result.ord_tables()
    print(
        f"{args.rows:,} buildings x {args.periods:,} periods, seed {args.seed}: "
        f"{len(building):,} hits as Oasis events\n"
    )
    print("ALT (vecloss, then OasisLMF aalpy):")
    print(ours["alt"])
    print(oasis_alt)
    joined = (
        ours["ept"]
        .join(
            oasis_ept.select(
                pl.col("EPType").cast(pl.Int64),
                pl.col("ReturnPeriod").cast(pl.Float64),
                pl.col("Loss").alias("OasisLoss"),
                pl.col("EPCalc").alias("OasisEPCalc"),
            ),
            on=["EPType", "ReturnPeriod"],
            how="left",
        )
        .with_columns(relative=(pl.col("Loss") / pl.col("OasisLoss") - 1).abs())
    )
    print("\nEPT (vecloss Loss, OasisLMF lecpy OasisLoss):")
    with pl.Config(tbl_rows=40):
        print(joined)
    mean = oasis_alt.filter(pl.col("SampleType") == 1).row(0, named=True)
    ours_alt = ours["alt"].row(0, named=True)
    print(
        f"\nAAL relative difference {abs(ours_alt['MeanLoss'] / mean['MeanLoss'] - 1):.2e}, "
        f"SD {abs(ours_alt['SDLoss'] / mean['SDLoss'] - 1):.2e}, EPT worst "
        f"{joined['relative'].max():.2e}"
    )


if __name__ == "__main__":
    sys.exit(main())
