"""Time each contender at each size: warm-up, repeats, medians, peak memory, checks.

Slow contenders stop at a time budget: once a run is predicted (linearly from
the largest size measured) to take longer than the budget, the larger sizes
are extrapolated and marked ``extrapolated=True`` in every table and plot.
"""

from __future__ import annotations

import functools
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from vecloss import formulas
from vecloss.api import validated
from vecloss.bench.contenders import make_contender
from vecloss.bench.memory import peak_rss
from vecloss.bench.race import turns
from vecloss.formulas import Formula
from vecloss.progress import progress_bar
from vecloss.reference import reference_loss
from vecloss.synthetic import portfolio

__all__ = ["Measurement", "check_losses", "measure_engines", "progress", "with_extra_columns"]

#: A fast contender is timed over enough calls for a sample this long.
SAMPLE_SECONDS = 0.02

#: How many buildings each result is checked on against the scalar reference.
CHECK_ROWS = 2000
RTOL = 1e-12


@dataclass
class Measurement:
    """One contender at one size."""

    engine: str
    size: int
    seconds: float
    min_seconds: float
    max_seconds: float
    repeats: int
    peak_mib: float
    extrapolated: bool
    checked: str
    speedup_vs_processes: float = float("nan")

    def row(self) -> dict[str, Any]:
        return asdict(self)


def with_extra_columns(frame: pl.DataFrame, formula: str | Formula, seed: int) -> pl.DataFrame:
    """``frame`` plus the formula's extra columns, uniform between each one's bounds (or
    over [bound, bound + 1] beside an open end, [0, 1] with none)."""
    extra = formulas.get(formula).extra
    rng = np.random.default_rng(seed)
    drawn = {}
    for col in extra:
        low = col.low if math.isfinite(col.low) else min(0.0, col.high - 1)
        high = col.high if math.isfinite(col.high) else low + 1
        values = rng.uniform(low, high, frame.height)
        drawn[col.name] = np.clip(values, np.nextafter(low, high), high)
    return frame.with_columns(**drawn) if drawn else frame


def check_losses(
    frame: pl.DataFrame,
    loss: np.ndarray,
    *,
    formula: str | Formula,
    years: int,
    discount_rate: float,
) -> str:
    """Compare ``loss`` with the scalar reference on a seeded sample; raise if off."""
    if loss.shape != (frame.height,):
        msg = f"wrong shape {loss.shape} for {frame.height} buildings"
        raise AssertionError(msg)
    rng = np.random.default_rng(0)
    picks = rng.choice(frame.height, min(CHECK_ROWS, frame.height), replace=False)
    sample = frame[picks]
    expected = np.array(
        [reference_loss(b, years, discount_rate, formula) for b in sample.iter_rows(named=True)]
    )
    np.testing.assert_allclose(loss[picks], expected, rtol=RTOL, atol=0)
    return f"ok ({len(picks)} rows vs reference)"


def progress(total: int, desc: str) -> Any:
    """A bar over runs on stderr when it is a terminal, else a silent stand-in."""
    return progress_bar(total=total, desc=desc, unit="run", enabled=sys.stderr.isatty())


@dataclass
class _Samples:
    """One contender's samples at one size, taken in turns with the others'."""

    fn: Callable[[], Any]
    repeats: int
    calls: int  # calls per sample; 0: a slow contender, one call a sample, memory sampled
    times: list[float]
    result: Any = None
    peak: float = float("nan")

    def take(self) -> None:
        started = time.perf_counter()
        if self.calls == 0:
            self.result, mib = peak_rss(self.fn)
            self.peak = mib if math.isnan(self.peak) else max(self.peak, mib)
        else:
            for _ in range(self.calls):
                self.result = self.fn()
        self.times.append((time.perf_counter() - started) / max(self.calls, 1))
        if self.times[-1] >= 0.5:  # (the sampler's cost is lost in the noise from here)
            self.calls = 0


def _prepared(fn: Callable[[], Any], repeats: int, *, slow: bool) -> _Samples:
    """Samples to take of ``fn``: a fast call is timed over a ~20 ms sample (one call's time
    is mostly noise), its memory sampled in one more run at the end; slow runs (>= 0.5 s),
    where the sampler's cost is lost in the noise, are sampled as they are timed."""
    calls = 0
    if not slow:
        started = time.perf_counter()
        fn()
        calls = max(1, int(SAMPLE_SECONDS / max(time.perf_counter() - started, 1e-7)))
    return _Samples(fn, repeats, calls, [])


def measure_engines(
    sizes: Sequence[int],
    engines: Iterable[str],
    *,
    repeat: int = 5,
    budget: float = 20.0,
    workers: int | None = None,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    seed: int = 0,
    budgets: Mapping[str, float] | None = None,
) -> list[Measurement]:
    """Measure every engine at every size on the same seeded portfolios.

    An engine whose next size is predicted to take more than its budget (``budgets[name]``,
    else ``budget``) seconds is extrapolated there instead of run; a run repeats as often as
    its budget allows, up to ``repeat`` times. At each size the engines take turns, sample
    by sample (:func:`vecloss.bench.race.turns`), so that none is measured only in the
    state another leaves (a process pool winding down, caches) or only first. A formula's
    extra columns are drawn inside their rules (:func:`with_extra_columns`)."""
    engines = list(engines)
    model = {"formula": formula, "years": years, "discount_rate": discount_rate}
    results: list[Measurement] = []
    last: dict[str, tuple[int, float]] = {}
    bar = progress(len(sizes) * len(engines), "vecloss bench")
    for size in sorted(sizes):
        frame = with_extra_columns(validated(portfolio(size, seed=seed)), formula, seed)
        samples: dict[str, _Samples] = {}
        for name in engines:
            bar.set_postfix_str(f"{name} @ {size:,}")
            run = make_contender(name, workers=workers, **model)  # type: ignore[arg-type]
            predicted = last[name][1] * size / last[name][0] if name in last else 0.0
            allowed = (budgets or {}).get(name, budget)
            if predicted > allowed:
                results.append(
                    Measurement(
                        name,
                        size,
                        predicted,
                        predicted,
                        predicted,
                        0,
                        float("nan"),
                        extrapolated=True,
                        checked="extrapolated",
                    )
                )
                bar.update()
                continue
            if predicted < 1.0:
                run(frame)  # warm-up: imports, pools, caches
            repeats = max(1, min(repeat, int(allowed / max(predicted, 1e-9))))
            fn = functools.partial(run, frame)
            samples[name] = _prepared(fn, repeats, slow=predicted >= 0.5)
        for name in turns(list(samples), max((s.repeats for s in samples.values()), default=0)):
            if len(samples[name].times) < samples[name].repeats:
                samples[name].take()
        for name, taken in samples.items():
            if math.isnan(taken.peak):
                taken.result, taken.peak = peak_rss(taken.fn)
            loss = taken.result
            checked = "n/a (floor)" if loss is None else check_losses(frame, loss, **model)  # type: ignore[arg-type]
            median = statistics.median(taken.times)
            results.append(
                Measurement(
                    name,
                    size,
                    median,
                    min(taken.times),
                    max(taken.times),
                    taken.repeats,
                    taken.peak,
                    extrapolated=False,
                    checked=checked,
                )
            )
            last[name] = (size, median)
            bar.update()
    bar.close()
    results.sort(key=lambda m: (m.size, engines.index(m.engine)))
    base = {m.size: m.seconds for m in results if m.engine == "processes"}
    for m in results:
        if m.size in base:
            m.speedup_vs_processes = base[m.size] / m.seconds
    return results
