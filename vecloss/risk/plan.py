"""A risk request checked before any data is read (periods, seed, return periods, columns),
and the tally of every part."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.checks.log import FailureLog
from vecloss.exceptions import UsageError
from vecloss.frames import to_polars
from vecloss.io.sink import check_targets, open_sink
from vecloss.io.source import frame_source, open_source
from vecloss.options import check_options, group_columns, whole, whole_in
from vecloss.risk.tally import (
    PERSPECTIVE,
    Collected,
    RiskJob,
    Simulated,
    TallyPart,
    new_state,
    tally_part,
)
from vecloss.run.executors import Dask, Executor, InProcess
from vecloss.run.runner import execute
from vecloss.run.worker import DEFAULT_BATCH_ROWS, Job
from vecloss.scenario import FormulaArg, Scenario
from vecloss.schema import ID, REQUIRED, Column

#: A multiple of every default return period, so each falls on an exact rank.
DEFAULT_PERIODS = 10_000


_SEED_LIMIT = 1 << 64


def return_periods_of(value: object, periods: int | None) -> np.ndarray:
    items = [value] if isinstance(value, numbers.Real) else value
    if not isinstance(items, Iterable) or isinstance(items, str | bytes):
        msg = f"return_periods must be numbers, got {value!r}"
        raise UsageError(msg)
    values = list(items)
    if not values or any(
        isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v))
        for v in values
    ):
        msg = f"return_periods must be finite numbers, got {value!r}"
        raise UsageError(msg)
    rps = np.array(values, dtype=np.float64)
    if (rps < 1).any() or len(set(values)) != len(values):
        msg = f"return periods must be distinct and >= 1, got {values}"
        raise UsageError(msg)
    if periods is not None and (rps > periods).any():
        msg = (
            f"a return period of {rps.max():g} needs at least that many periods, got {periods:,}; "
            f"hint: periods={int(math.ceil(rps.max() / 1000) * 1000) * 10:_} (--periods on the "
            "command line), or only return periods up to the periods (return_periods=, "
            "--return-periods)"
        )
        raise UsageError(msg)
    return rps


def _columns(by: object, shared_by: object) -> tuple[str, ...]:
    """The group columns (``by``: a name or a list of names), ``shared_by`` checked too."""
    if shared_by is not None and not isinstance(shared_by, str):
        msg = f"shared_by must be a column name, got {shared_by!r}"
        raise UsageError(msg)
    groups = group_columns(by)
    for name, value in [*(("by", c) for c in groups), ("shared_by", shared_by)]:
        if value == ID:
            msg = f"{name}={ID!r} makes one group per building; hint: group by a column it shares"
            raise UsageError(msg)
    return groups


def tally(
    data: Any,
    job: RiskJob,
    *,
    engine: str,
    workers: int | None,
    scheduler: Any,
    rejects: str | Path | None,
    progress: bool,
    table: str | None,
    query: str | None,
) -> tuple[Simulated | Collected, int, FailureLog, str, pl.DataFrame | None]:
    """Every good row tallied: the merged state, rows, the failure log, the source name and,
    for a frame in skip mode, its rejected rows. A frame is a source of one part, read by
    the same executor and worker as a file."""
    if isinstance(data, str | Path):
        src = open_source(data, table=table, query=query)
        run_job = replace(job.run, source=src.name)
    else:  # its numbers must be numbers; its rejected rows keep every column
        frame = to_polars(data, "risk()").polars
        src = frame_source(frame)
        extra = tuple(c for c in frame.columns if c not in (*REQUIRED, *job.run.keep))
        run_job = replace(
            job.run,
            source=src.name,
            keep=(*job.run.keep, *extra),
            strings=False,
            hold_rejects=job.run.on_invalid == "skip",
        )
    check_targets(src.files, None, rejects)
    rej = open_sink(rejects) if rejects is not None else None
    workers = whole(workers, "workers")
    executor: Executor = Dask(workers, scheduler) if engine == "dask" else InProcess()
    job = replace(job, run=run_job)
    results: list[TallyPart] = execute(
        src, run_job, executor, partial(tally_part, job=job), None, rej, progress=progress
    )
    state = results[0].state if results else new_state(job)
    log = FailureLog(numeric=run_job.scenario.spec.numeric)
    for result in results:
        log.merge(result.log)
        if result.state is not state:
            state.merge(result.state)  # type: ignore[arg-type]
    held = [r.rejected_rows for r in results if r.rejected_rows is not None]
    rejected = pl.concat(held, how="diagonal_relaxed") if held else None
    rejected = rejected if rejected is not None and rejected.height else None
    return state, sum(r.rows for r in results), log, src.name, rejected


def prepare(
    *,
    formula: FormulaArg,
    years: object,
    discount_rate: object,
    periods: object,
    seed: object,
    exact: bool,
    by: object,
    shared_by: object,
    engine: str,
    workers: object,
    batch_rows: object,
    on_invalid: str,
    rejects: object,
    data: Any,
    deductible: object = None,
    limit: object = None,
    damage_cv: object = None,
    samples: object = 1,
    damage_cap: object = None,
) -> RiskJob:
    """Every parameter checked, before any data is read."""
    scenario = Scenario.parse(formula, years, discount_rate)
    terms = _terms(deductible, limit)
    cv, cv_column = _damage(damage_cv, exact=exact)
    draws, cap, cap_column = _draws(cv, samples, damage_cap)
    extra = (*terms, *cv_column, *cap_column)
    names = [c.name for c in extra]
    if len(set(names)) != len(names):
        msg = f"deductible, limit, damage_cv and damage_cap name one column twice: {names}"
        raise UsageError(msg)
    if extra:  # the columns checked as the formula's own (finite, in range)
        spec = replace(scenario.spec, extra=(*scenario.spec.extra, *extra))
        scenario = replace(scenario, spec=spec)
    if scenario.grid:
        msg = "risk takes one scenario; hint: give years and discount_rate as single numbers"
        raise UsageError(msg)
    if engine not in ("vectorized", "dask"):
        msg = f"risk has no engine {engine!r}; hint: choose vectorized or dask"
        raise UsageError(msg)
    groups = _columns(by, shared_by)
    if terms and PERSPECTIVE in (*groups, shared_by):
        msg = f"{PERSPECTIVE!r} is the column that tells gross from insured; hint: rename yours"
        raise UsageError(msg)
    path = isinstance(data, str | Path)
    if path and on_invalid == "skip" and rejects is None:
        msg = "skip mode on a file needs a rejects file; hint: rejects='rejects.csv'"
        raise UsageError(msg)
    check_options(
        workers=workers,
        batch_rows=batch_rows,
        on_invalid=on_invalid,
        by=by,
    )
    run_job = Job(
        scenario,
        batch_rows=whole(batch_rows, "batch rows") or DEFAULT_BATCH_ROWS,
        keep=(shared_by,) if isinstance(shared_by, str) else (),
        by=groups,
        on_invalid=on_invalid,
    )
    return RiskJob(
        run_job,
        periods=whole_in(periods, "periods", 1, 1 << 31),
        seed=whole_in(seed, "seed", 0, _SEED_LIMIT),
        exact=exact,
        by=(PERSPECTIVE, *groups) if terms else groups,
        shared_by=shared_by,  # type: ignore[arg-type]
        deductible=deductible if isinstance(deductible, str) else None,
        limit=limit if isinstance(limit, str) else None,
        damage_cv=cv,
        samples=draws,
        damage_cap=cap,
    )


def _damage(damage_cv: object, *, exact: bool) -> tuple[float | str | None, tuple[Column, ...]]:
    """The damage's coefficient of variation (a number >= 0, or a column of them, checked
    like the schema's), and that column's rule."""
    if damage_cv is None:
        return None, ()
    if exact:
        msg = (
            "exact mode has no damage uncertainty (its curves would need the damage's own "
            "distribution convolved in); hint: simulate (periods=..., seed=...)"
        )
        raise UsageError(msg)
    if isinstance(damage_cv, str):
        if damage_cv in REQUIRED:
            msg = f"damage_cv names a column of coefficients of variation, got {damage_cv!r}"
            raise UsageError(msg)
        return damage_cv, (Column(damage_cv, low=0.0),)
    if (
        isinstance(damage_cv, bool)
        or not isinstance(damage_cv, numbers.Real)
        or not 0.0 <= float(damage_cv) < math.inf
    ):
        msg = f"damage_cv must be a number >= 0 or a column name, got {damage_cv!r}"
        raise UsageError(msg)
    return float(damage_cv), ()


#: The most damage draws per hit (each costs about a simulation without damage).
MAX_SAMPLES = 1_000


def _draws(
    cv: float | str | None, samples: object, damage_cap: object
) -> tuple[int, float | str | None, tuple[Column, ...]]:
    """Draws per hit and the damage cap (money > 0: a number, or a column of them), which
    need damage uncertainty."""
    count = whole_in(samples, "samples", 1, MAX_SAMPLES)
    if cv is None and (count != 1 or damage_cap is not None):
        msg = (
            "samples and damage_cap shape the damage draws, which need damage_cv; hint: give "
            "damage_cv (for a cap on the formula's loss itself, use limit)"
        )
        raise UsageError(msg)
    if damage_cap is None:
        return count, None, ()
    if isinstance(damage_cap, str):
        if damage_cap in REQUIRED:
            msg = f"damage_cap names a column of each hit's largest loss, got {damage_cap!r}"
            raise UsageError(msg)
        return count, damage_cap, (Column(damage_cap, low=0.0, low_open=True),)
    if (
        isinstance(damage_cap, bool)
        or not isinstance(damage_cap, numbers.Real)
        or not 0.0 < float(damage_cap) < math.inf
    ):
        msg = f"damage_cap must be a number > 0 or a column name, got {damage_cap!r}"
        raise UsageError(msg)
    return count, float(damage_cap), ()


def _terms(deductible: object, limit: object) -> tuple[Column, ...]:
    """The columns of the insurance terms, with their rules: a deductible is finite and
    >= 0, a limit finite and > 0 (money, as ``construction_cost``)."""
    found = []
    for name, value, low_open in (("deductible", deductible, False), ("limit", limit, True)):
        if value is None:
            continue
        if not isinstance(value, str) or value in REQUIRED:
            msg = f"{name} names the column of each building's {name}, got {value!r}"
            raise UsageError(msg)
        found.append(Column(value, low=0.0, low_open=low_open))
    if len(found) == 2 and found[0].name == found[1].name:
        msg = "deductible and limit name the same column; hint: give each its own"
        raise UsageError(msg)
    return tuple(found)
