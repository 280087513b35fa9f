"""The risk targets, measured in one run: speed against a dense NumPy baseline, memory of a
streamed run, simulation against the exact answer, and the same bits across executions.

``vecloss bench --risk`` runs :func:`measure_risk` and prints :func:`markdown_risk`.
Every figure is checked as it is measured: both simulations must land within a
few standard errors of the exact AAL, and the invariance row compares bits.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.bench.race import process
from vecloss.formulas import FloatArray

__all__ = ["RiskRow", "dense_baseline", "markdown_risk", "measure_risk", "write_risk"]


@dataclass
class RiskRow:
    """One measured target: what, the figure, the peer or bound, and whether it is met."""

    work: str
    measured: str
    peer: str
    ratio: float | None
    target: str
    met: bool | None


def dense_baseline(
    p: FloatArray,
    loss: FloatArray,
    periods: int,
    *,
    seed: int = 0,
    block: int = 256,
    dtype: type[np.floating[Any]] = np.float64,
) -> tuple[FloatArray, FloatArray]:
    """The straightforward dense simulation: a Bernoulli matrix of buildings x periods,
    ``block`` buildings at a time, summed (aggregate) and maxed (occurrence) per period.
    ``dtype=np.float32`` draws and multiplies in single precision (faster, coarser)."""
    rng = np.random.default_rng(seed)
    total, largest = np.zeros(periods), np.zeros(periods)
    u = np.empty((block, periods), dtype=dtype)
    hit = np.empty((block, periods), dtype=bool)
    lost = np.empty((block, periods), dtype=dtype)
    chance, cost = p.astype(dtype), loss.astype(dtype)
    for lo in range(0, len(p), block):  # one step per block of buildings (the baseline)
        n = min(block, len(p) - lo)
        rng.random(out=u[:n], dtype=dtype)
        np.less(u[:n], chance[lo : lo + n, None], out=hit[:n])
        np.multiply(hit[:n], cost[lo : lo + n, None], out=lost[:n])
        total += lost[:n].sum(axis=0)
        np.maximum(largest, lost[:n].max(axis=0), out=largest)
    return total, largest


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _portfolio(rows: int, seed: int) -> pl.DataFrame:
    from vecloss.synthetic import portfolio

    rng = np.random.default_rng(seed)
    return portfolio(rows, seed=seed).with_columns(
        hazard_probability=pl.Series(rng.uniform(0.001, 0.05, rows)),
        region=pl.Series(rng.integers(0, 4, rows)),
    )


def _dense_inputs(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The dense baseline's inputs: each building's probability and loss if hit (the complex
    formula, 10 years, 5 %: :func:`vecloss.simulate`'s defaults)."""
    from vecloss.risk.tally import severity
    from vecloss.scenario import Scenario

    p = frame["hazard_probability"].to_numpy()
    return p, severity(frame, Scenario.parse("complex", 10, 0.05))


def _checked_speed(frame: pl.DataFrame, periods: int, repeat: int) -> tuple[float, float]:
    """vecloss's and the dense baseline's medians on one portfolio, both simulated AALs
    checked within 5 standard errors of the exact one."""
    import vecloss

    ours, ylt = _median(lambda: vecloss.simulate(frame, periods=periods, seed=1), repeat)
    p, loss = _dense_inputs(frame)
    theirs, (total, _) = _median(lambda: dense_baseline(p, loss, periods), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # only the AAL is used: no exact AEP at this size
        exact = vecloss.risk(frame, exact=True, return_periods=(10,)).aal.row(0, named=True)
    se = exact["sd_loss"] / math.sqrt(periods)
    for name, mean in (("vecloss", ylt["loss"].mean()), ("dense", float(total.mean()))):
        if abs(mean - exact["mean_loss"]) > 5 * se:
            msg = f"{name} simulated AAL {mean} is more than 5 SE from the exact {exact}"
            raise AssertionError(msg)
    return ours, theirs


def _speed(rows: int, periods: int, repeat: int) -> list[RiskRow]:
    import vecloss
    from vecloss.synthetic import portfolio

    frame = _portfolio(rows, seed=1)
    ours, theirs = _checked_speed(frame, periods, repeat)
    damaged, _ = _median(
        lambda: vecloss.simulate(frame, periods=periods, seed=1, damage_cv=0.5), repeat
    )
    p, loss = _dense_inputs(frame)
    single, _ = _median(lambda: dense_baseline(p, loss, periods, dtype=np.float32), repeat)
    real, real_dense = _checked_speed(portfolio(rows, seed=1), periods, repeat)
    work = f"simulate {rows:,} buildings x {periods:,} periods, p ~ U[0.001, 0.05], independent"
    realistic = RiskRow(
        f"simulate {rows:,} buildings x {periods:,} periods, the public generator's "
        "portfolio as it is (p ~ Beta, mean 1 %), independent",
        f"{real * 1e3:,.0f} ms",
        f"dense NumPy {real_dense * 1e3:,.0f} ms",
        real / real_dense,
        "<= 0.25x",
        real / real_dense <= 0.25,
    )
    return [
        RiskRow(
            work,
            f"{ours * 1e3:,.0f} ms",
            f"dense NumPy {theirs * 1e3:,.0f} ms",
            ours / theirs,
            "<= 0.25x",
            ours / theirs <= 0.25,
        ),
        RiskRow(
            f"{work} (beside it: the dense baseline in float32)",
            f"{ours * 1e3:,.0f} ms",
            f"dense NumPy float32 {single * 1e3:,.0f} ms",
            ours / single,
            "(not the target's peer; shown for scale)",
            None,
        ),
        RiskRow(
            f"{work}, damage uncertainty (CV 0.5, one sample per hit)",
            f"{damaged * 1e3:,.0f} ms",
            f"the same without damage uncertainty {ours * 1e3:,.0f} ms",
            damaged / ours,
            "<= 3x",
            damaged / ours <= 3,
        ),
        realistic,
    ]


def _memory(rows: int, periods: int, folder: Path, *, damage: bool = False) -> RiskRow:
    src = folder / "stream.parquet"
    if not src.exists():
        _portfolio(rows, seed=2).write_parquet(src, row_group_size=100_000)
    command = [sys.executable, "-m", "vecloss", "risk", str(src), "--periods", str(periods)]
    command += ["--damage-cv", "0.5"] if damage else []
    _, mib, out = process([*command, "--json"])  # (this child's own peak: os.wait4)
    report = json.loads(out)
    if report["rows"] != rows:
        msg = f"the streamed run tallied {report['rows']} of {rows} rows"
        raise AssertionError(msg)
    limit = 1024 if damage else 512
    return RiskRow(
        f"vecloss risk on {rows:,} buildings streamed from Parquet, {periods:,} periods"
        + (", damage uncertainty (CV 0.5)" if damage else ""),
        f"peak RSS {mib:,.0f} MiB (whole process)",
        "-",
        None,
        f"<= {limit:,} MiB",
        mib <= limit,
    )


def _versus_exact(rows: int, periods: int, shared: bool) -> RiskRow:
    import vecloss

    frame = _portfolio(rows, seed=3).with_columns(
        hazard_probability=pl.Series(np.random.default_rng(4).uniform(0.001, 0.2, rows))
    )
    shared_by = "region" if shared else None
    rps = (10, 50, 100, 250, 500)
    exact = vecloss.risk(frame, exact=True, shared_by=shared_by, return_periods=rps)
    sim = vecloss.risk(frame, periods=periods, seed=5, shared_by=shared_by, return_periods=rps)
    e, s = exact.aal.row(0, named=True), sim.aal.row(0, named=True)
    z = abs(s["mean_loss"] - e["mean_loss"]) / s["std_error"]
    assert sim.ylt is not None
    var_equal, var_compared, tvar_worst = 0, 0, 0.0
    for curve, column in (("OEP", "max_event_loss"), ("AEP", "loss")):
        sims = sim.ylt[column].to_numpy()
        ours, theirs = sim.curves(), exact.curves()
        for i, rp in enumerate(rps):
            alpha, var = 1 / rp, theirs[curve][i]
            noise = 5 * math.sqrt(alpha * (1 - alpha) / periods)
            above = float((sims > var * (1 + 1e-9)).mean())
            at_or_above = float((sims >= var * (1 - 1e-9)).mean())
            if above < alpha - noise and at_or_above > alpha + noise:  # not on a jump
                var_compared += 1
                var_equal += math.isclose(ours[curve][i], var, rel_tol=1e-9)
            tvar = theirs[f"{curve} TVaR"][i]
            tvar_worst = max(tvar_worst, abs(ours[f"{curve} TVaR"][i] / tvar - 1))
    met = z <= 3 and var_equal == var_compared and tvar_worst <= 0.02
    mode = "shared by region" if shared else "independent"
    return RiskRow(
        f"simulation vs exact, {rows} buildings, {mode}, N = {periods:,}",
        f"AAL {z:.2f} SE off; VaR equal at {var_equal}/{var_compared} return periods off a "
        f"jump; TVaR within {tvar_worst:.2%}",
        "exact mode",
        None,
        "AAL <= 3 SE; VaR equal; TVaR <= 2%",
        met,
    )


def _exact_bounds(rows: int) -> RiskRow:
    """The exact AEP bounds of a realistic portfolio (the public generator's probabilities):
    their relative width at return periods 2 to 1,000, and the time of the whole call."""
    import time

    import vecloss

    frame = vecloss.portfolio(rows, seed=12)
    rps = (2, 5, 10, 50, 100, 250, 500, 1000)
    started = time.perf_counter()
    result = vecloss.risk(frame, exact=True, return_periods=rps)
    seconds = time.perf_counter() - started
    aep = result.ep.filter(pl.col("ep_type").str.starts_with("AEP"))
    width = float(((aep["high"] - aep["low"]) / aep["high"]).max())  # type: ignore[arg-type]
    between = bool(((aep["low"] <= aep["loss"]) & (aep["loss"] <= aep["high"])).all())
    return RiskRow(
        f"exact AEP bounds, {rows:,} buildings, return periods 2-1,000",
        f"widest {width:.4%} apart, in {seconds:.1f} s (the whole exact call)",
        "-",
        None,
        "<= 0.1 % apart, <= 30 s",
        between and width <= 1e-3 and seconds <= 30,
    )


def _long_simulation(rows: int, periods: int) -> RiskRow:
    """The exact AEP bounds of a realistic portfolio beyond enumeration against one long
    simulation: at every return period the simulation's 95 % interval must meet the exact
    band (and the band be the narrower)."""
    import vecloss

    frame = vecloss.portfolio(rows, seed=13)
    rps = [r for r in (10, 100, 1_000, 10_000, 100_000) if 100 * r <= periods]  # 100 years+
    exact = vecloss.risk(frame, exact=True, return_periods=rps).ep
    started = time.perf_counter()
    simulated = vecloss.risk(frame, periods=periods, seed=2, return_periods=rps).ep
    seconds = time.perf_counter() - started
    both = exact.join(simulated, on=["ep_type", "return_period"], suffix="_sim").filter(
        pl.col("ep_type").str.starts_with("AEP")
    )
    meets = (both["low_sim"] <= both["high"]) & (both["low"] <= both["high_sim"])
    band = float(((both["high"] - both["low"]) / both["high"]).max())  # type: ignore[arg-type]
    spread = (both["high_sim"] - both["low_sim"]) / both["loss_sim"]
    interval = float(spread.min())  # type: ignore[arg-type]
    return RiskRow(
        f"exact AEP bounds against one simulation, {rows:,} buildings x {periods:,} periods, "
        f"return periods {rps[0]:,}-{rps[-1]:,}",
        f"the simulation's 95 % interval meets the exact band at {int(meets.sum())} of "
        f"{both.height} (AEP and its TVaR); band at most {band:.4%} wide, the simulation's "
        f"interval at least {interval:.3%} ({seconds:.0f} s to simulate)",
        "simulation",
        None,
        "every interval meets the band",
        bool(meets.all()),
    )


def _lumpy(frame: pl.DataFrame, rps: np.ndarray, periods: int) -> set[tuple[str, float]]:
    """The curve figures whose exact distribution is lumpy where the interval looks: the exact
    VaR at 11 points across the 95 % band of exceedance probabilities ``q -+ 1.96 sqrt(q (1 -
    q) / N)`` repeats a value, so an atom holds at least a tenth of the band (the occurrence
    loss is one building's: its atoms have mass ``p``). There a distribution-free interval
    covers more than 95 %, up to always (the VaR and TVaR of both are counted apart)."""
    import vecloss

    lumpy = set()
    for r in rps.tolist():
        q = 1 / r
        band = 1.959963984540054 * np.sqrt(q * (1 - q) / periods)
        points = sorted({1 / x for x in np.linspace(q - band, q + band, 11).tolist()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = vecloss.risk(frame, exact=True, return_periods=points).ep
        for kind in ("OEP", "AEP"):
            values = ep.filter(pl.col("ep_type") == kind)["loss"]
            if values.n_unique() < len(points):
                lumpy |= {(kind, r), (f"{kind} TVaR", r)}
    return lumpy


def _coverage(rows: int, periods: int, seeds: int) -> RiskRow:
    """How often the 95 % intervals of one simulation hold the exact figures, over ``seeds``
    runs of a realistic portfolio (exact: OEP and AAL exactly, AEP between the lattice
    bounds, their midpoint); figures on a lumpy part of their distribution
    (:func:`_lumpy`) apart."""
    import vecloss

    frame = vecloss.portfolio(rows, seed=3)
    rps = np.array([10.0, 50.0, 100.0, 250.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = vecloss.risk(frame, exact=True, return_periods=rps.tolist())
    truth = exact.ep.select("ep_type", "return_period", exact="loss")
    atoms = _lumpy(frame, rps, periods)
    hits: dict[tuple[str, float], int] = {}
    aal_hits = 0
    for seed in range(seeds):  # one simulation per seed
        result = vecloss.risk(frame, periods=periods, seed=seed, return_periods=rps.tolist())
        inside = result.ep.join(truth, on=["ep_type", "return_period"]).select(
            "ep_type",
            "return_period",
            inside=(pl.col("low") <= pl.col("exact")) & (pl.col("exact") <= pl.col("high")),
        )
        for kind, r, covered in inside.iter_rows():
            hits[(kind, r)] = hits.get((kind, r), 0) + int(covered)
        aal = result.aal.row(0, named=True)
        aal_hits += int(aal["low"] <= exact.aal["mean_loss"][0] <= aal["high"])
    rates = {key: count / seeds for key, count in hits.items()}
    smooth = [rate for key, rate in rates.items() if key not in atoms] + [aal_hits / seeds]
    lumpy = [rate for key, rate in rates.items() if key in atoms] or [float("nan")]
    var_rates = [v for (k, _), v in rates.items() if not k.endswith("TVaR")]
    tvar_rates = [v for (k, _), v in rates.items() if k.endswith("TVaR")]
    return RiskRow(
        f"95 % intervals over {seeds:,} seeds, {rows:,} buildings x {periods:,} periods, "
        "return periods 10-250",
        f"coverage of the exact figures: VaR {min(var_rates):.1%}-{max(var_rates):.1%}, "
        f"TVaR {min(tvar_rates):.1%}-{max(tvar_rates):.1%}, AAL {aal_hits / seeds:.1%}; "
        f"where the exact distribution is smooth {min(smooth):.1%}-{max(smooth):.1%} "
        f"({len(atoms)} of {len(rates)} curve figures on atoms, "
        f"{'/'.join(sorted({kind.split()[0] for kind, _ in atoms}))}: "
        f"{min(lumpy):.1%}-{max(lumpy):.1%}, distribution-free intervals over-cover there)",
        "exact mode",
        None,
        "93-98 % (where the exact distribution is smooth)",
        all(0.93 <= rate <= 0.98 for rate in smooth),
    )


def _invariance(rows: int, periods: int, folder: Path, workers: int) -> RiskRow:
    import vecloss

    src = folder / "invariance.parquet"
    _portfolio(rows, seed=6).write_parquet(src, row_group_size=25_000)
    options: dict[str, Any] = {"periods": periods, "seed": 9, "by": "region"}
    runs = {
        "batch rows 1,000": vecloss.simulate(str(src), batch_rows=1_000, **options),
        "batch rows 100,000": vecloss.simulate(str(src), batch_rows=100_000, **options),
    }
    if importlib.util.find_spec("distributed") is not None:
        runs[f"Dask, {workers} workers"] = vecloss.simulate(
            str(src), engine="dask", workers=workers, **options
        )
    first = next(iter(runs.values()))
    same = all(frame.equals(first) for frame in runs.values())
    return RiskRow(
        f"the same bits, {rows:,} buildings x {periods:,} periods by region",
        ("identical: " if same else "DIFFERENT: ") + ", ".join(runs),
        "-",
        None,
        "identical bits (batch rows 1,000 / 100,000, Dask 2 workers)",
        same and len(runs) == 3,
    )


def measure_risk(
    rows: int = 100_000,
    periods: int = 10_000,
    *,
    stream_rows: int = 1_000_000,
    exact_periods: int = 1_000_000,
    repeat: int = 3,
    workers: int = 2,
    coverage_rows: int = 10_000,
    coverage_seeds: int = 1_000,
    long_rows: int = 10_000,
    long_periods: int = 10_000_000,
) -> list[RiskRow]:
    """Measure every risk target in one run (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="vecloss-risk-") as tmp:
        folder = Path(tmp)
        return [
            *_speed(rows, periods, repeat),
            _memory(stream_rows, periods, folder),
            _memory(stream_rows, periods, folder, damage=True),
            _versus_exact(16, exact_periods, shared=False),
            _versus_exact(40, exact_periods, shared=True),
            _exact_bounds(rows),
            _long_simulation(long_rows, long_periods),
            _coverage(coverage_rows, periods, coverage_seeds),
            _invariance(rows, periods, folder, workers),
        ]


def markdown_risk(rows: Sequence[RiskRow]) -> str:
    lines = [
        "| work | measured | peer | ratio | target | met |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}x"
        met = "-" if r.met is None else ("yes" if r.met else "no")
        lines.append(f"| {r.work} | {r.measured} | {r.peer} | {ratio} | {r.target} | {met} |")
    return "\n".join(lines)


def write_risk(folder: Path, rows: Sequence[RiskRow], *, command: str) -> list[Path]:
    """Write risk.json and risk.md (with the command) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "risk.json").write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    (folder / "risk.md").write_text(f"Command: `{command}`\n\n{markdown_risk(rows)}\n")
    return [folder / "risk.json", folder / "risk.md"]
