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
from vecloss.risk.tally import _BUILDINGS, _DAMAGE, damage_factors, severity
from vecloss.scenario import Scenario

RETURN_PERIODS = (10, 50, 100, 250, 500)


def oasis_files(run_dir: Path, periods: int, period: np.ndarray, loss: np.ndarray) -> None:
    """Oasis's occurrence file, summary stream and return periods for events (one per hit):
    ``loss`` holds each hit's mean loss (``sidx -1``), then its samples (``sidx 1, 2, ...``)."""
    order = np.argsort(period, kind="stable")
    period, loss = period[order], loss[:, order]
    samples = len(loss) - 1
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
        [("event", "<i4"), ("summary", "<i4"), ("exposure", "<f4")]
        + [
            field
            for k in range(samples + 2)
            for field in ((f"sidx{k}", "<i4"), (f"loss{k}", "<f4"))
        ]
    )
    body = np.zeros(len(events), dtype=record)
    body["event"], body["summary"], body["exposure"] = events, 1, loss[0]
    for k in range(samples + 1):  # sidx -1 the mean, then 1..S; a (0, 0) pair ends the record
        body[f"sidx{k}"], body[f"loss{k}"] = (-1 if k == 0 else k), loss[k]
    stream_type = np.array([1], "<i4").tobytes()[:3] + np.int8(3).tobytes()  # a summary stream
    head = stream_type + np.array([samples, 1], dtype="<i4").tobytes()  # samples, summary set 1
    (run_dir / "work" / "S1").mkdir(parents=True)
    (run_dir / "work" / "S1" / "P1.bin").write_bytes(head + body.tobytes())


def _joined(ours: pl.DataFrame, theirs: pl.DataFrame, key: str) -> pl.DataFrame:
    """Our table beside Oasis's (``Loss`` and ``OasisLoss``) and their relative difference."""
    keys = [key, "EPType", "ReturnPeriod"]
    theirs = theirs.select(
        *(pl.col(k).cast(pl.Float64 if k == "ReturnPeriod" else pl.Int64) for k in keys),
        OasisLoss="Loss",
    )
    ours = ours.with_columns(pl.col(key).cast(pl.Int64))
    return ours.join(theirs, on=keys, how="left").with_columns(
        relative=(pl.col("Loss") / pl.col("OasisLoss") - 1).abs()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oasis-python", required=True, help="the Python that has oasislmf")
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--periods", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--damage-cv", type=float, help="damage uncertainty (default none)")
    parser.add_argument("--samples", type=int, default=1, help="damage draws per hit")
    args = parser.parse_args()
    frame = vecloss.portfolio(args.rows, seed=5)
    damage = {} if args.damage_cv is None else {"damage_cv": args.damage_cv}
    result = vecloss.risk(
        frame,
        periods=args.periods,
        seed=args.seed,
        return_periods=RETURN_PERIODS,
        samples=args.samples,
        **damage,  # type: ignore[arg-type]
    )
    p = frame["hazard_probability"].to_numpy()
    loss = severity(frame, Scenario.parse("complex", 10, 0.05))
    ids = value_keys(frame["buildingId"])
    building, period = independent_hits(stream_keys(ids, args.seed, _BUILDINGS), p, args.periods)
    losses = [loss[building]]  # each hit's mean, then its samples (vecloss's very draws)
    if args.damage_cv is not None:
        keys = stream_keys(ids, args.seed, _DAMAGE)[building]
        cv = np.full(len(building), args.damage_cv)
        for k in range(1, args.samples + 1):
            losses.append(loss[building] * damage_factors(keys, period, cv, k))
    bin_dir = Path(args.oasis_python).parent
    flags = ["-F", "-f"] if args.damage_cv is None else ["-F", "-f", "-W", "-w", "-S", "-s"]
    flags += ["-M", "-m"] if args.damage_cv is not None else []
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        oasis_files(run_dir, args.periods, period, np.array(losses))
        common = ["--run_dir", str(run_dir), "-K", "S1"]  # (run there: its logs stay there)
        subprocess.run(
            [bin_dir / "aalpy", *common, "-a", str(run_dir / "alt.csv")], check=True, cwd=run_dir
        )
        lec = [bin_dir / "lecpy", *common, *flags, "-r", "-O", str(run_dir / "ept.csv")]
        subprocess.run([*lec, "-o", str(run_dir / "psept.csv")], check=True, cwd=run_dir)
        oasis_alt = pl.read_csv(run_dir / "alt.csv").with_columns(
            pl.col("MeanLoss", "SDLoss").cast(pl.Float64)  # ("nan" for the absent samples)
        )
        oasis_ept = pl.read_csv(run_dir / "ept.csv")
        psept_file = run_dir / "psept.csv"
        there = psept_file.exists() and psept_file.stat().st_size
        oasis_psept = pl.read_csv(psept_file) if there else None
    ours = result.ord_tables()
    print(
        f"{args.rows:,} buildings x {args.periods:,} periods, seed {args.seed}, damage CV "
        f"{args.damage_cv}, {args.samples} sample(s): {len(building):,} hits as Oasis events\n"
    )
    print("ALT (vecloss, then OasisLMF aalpy):")
    print(ours["alt"])
    print(oasis_alt)
    ept = _joined(ours["ept"], oasis_ept, "EPCalc")
    print("\nEPT (vecloss Loss, OasisLMF lecpy OasisLoss):")
    with pl.Config(tbl_rows=100):
        print(ept)
    alt = ours["alt"].join(
        oasis_alt.select("SampleType", OasisMean="MeanLoss", OasisSD="SDLoss"), on="SampleType"
    )
    for row in alt.iter_rows(named=True):  # (one row per sample type)
        print(
            f"\nALT SampleType {row['SampleType']}: AAL relative difference "
            f"{abs(row['MeanLoss'] / row['OasisMean'] - 1):.2e}, "
            f"SD {abs(row['SDLoss'] / row['OasisSD'] - 1):.2e}"
        )
    for calc, rows in ept.group_by("EPCalc", maintain_order=True):
        print(f"EPT EPCalc {calc[0]}: worst relative difference {rows['relative'].max():.2e}")
    if "psept" in ours and oasis_psept is not None:
        psept = _joined(ours["psept"], oasis_psept, "SampleId")
        print(
            f"PSEPT ({psept.height} rows, {args.samples} samples): worst relative difference "
            f"{psept['relative'].max():.2e}, missing {psept['OasisLoss'].null_count()}"
        )


if __name__ == "__main__":
    sys.exit(main())
