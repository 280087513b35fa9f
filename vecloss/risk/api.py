"""``vecloss.simulate`` and ``vecloss.risk``: the year-loss table, AAL and EP curves.

::

    data (frame | file | folder | database) --checked batches--> tally per part
        (simulated: the exact year-loss ledger | exact: each building's p and loss)
        --merge (exact, any order)--> YLT per group --> AAL, OEP/AEP VaR and TVaR

Parameters are checked before any data is read; the validation, skip mode,
executors and progress are :func:`vecloss.run`'s.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.checks.log import FailureLog
from vecloss.exceptions import UsageError, warn
from vecloss.frames import to_polars
from vecloss.io.sink import check_targets, open_sink
from vecloss.io.source import frame_source, open_source
from vecloss.risk.exact import AEP_OUTCOMES, aep, deviation, events_of, oep
from vecloss.risk.measures import Z95, moments, sample_tail_intervals
from vecloss.risk.result import EP_TYPES, RiskResult
from vecloss.risk.tally import Collected, RiskJob, Simulated, TallyPart, new_state, tally_part
from vecloss.run.executors import Dask, Executor, InProcess
from vecloss.run.groups import group_columns
from vecloss.run.runner import check_options, execute, whole
from vecloss.run.worker import DEFAULT_BATCH_ROWS, Job
from vecloss.scenario import FormulaArg, Scenario
from vecloss.schema import ID, REQUIRED

__all__ = ["DEFAULT_PERIODS", "RETURN_PERIODS", "risk", "simulate"]

RETURN_PERIODS: tuple[int, ...] = (10, 50, 100, 250, 500)
#: A multiple of every default return period, so each falls on an exact rank.
DEFAULT_PERIODS = 10_000
_SEED_LIMIT = 1 << 64


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be a whole number, got {value!r}"
        raise UsageError(msg)
    if not low <= int(value) < high:
        msg = f"{name} must be in [{low:,}, {high:,}), got {int(value):,}"
        raise UsageError(msg)
    return int(value)


def _return_periods(value: object, periods: int | None) -> np.ndarray:
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
            f"hint: periods={int(math.ceil(rps.max() / 1000) * 1000) * 10:,}"
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


def _tally(
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


def _prepare(
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
) -> RiskJob:
    """Every parameter checked, before any data is read."""
    scenario = Scenario.parse(formula, years, discount_rate)
    if scenario.grid:
        msg = "risk takes one scenario; hint: give years and discount_rate as single numbers"
        raise UsageError(msg)
    if engine not in ("vectorized", "dask"):
        msg = f"risk has no engine {engine!r}; hint: choose vectorized or dask"
        raise UsageError(msg)
    groups = _columns(by, shared_by)
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
        periods=_whole(periods, "periods", 1, 1 << 31),
        seed=_whole(seed, "seed", 0, _SEED_LIMIT),
        exact=exact,
        by=groups,
        shared_by=shared_by,  # type: ignore[arg-type]
    )


def _order(labels: list[Any]) -> np.ndarray:
    """The order of the groups' values (tuples for several columns: column by column)."""
    if len(labels) <= 1:
        return np.arange(len(labels))
    if isinstance(labels[0], tuple):
        names = [f"c{k}" for k in range(len(labels[0]))]
        frame = pl.DataFrame(labels, schema=names, orient="row")
        return frame.with_row_index("at").sort(names, nulls_last=True)["at"].to_numpy()
    return pl.Series("label", labels).arg_sort(nulls_last=True).to_numpy()


def _groups_of(cells: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each cell's group (groups ordered by their ``by`` value) and the groups' values."""
    if not cells:
        return np.zeros(0, np.int64), []
    keys = np.array([c[0] for c in cells], dtype=np.uint64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    values = [cells[i][1] for i in first.tolist()]
    order = _order(values)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)], [values[i] for i in order.tolist()]


def _frames(
    by: tuple[str, ...],
    labels: list[Any],
    table: dict[str, np.ndarray],
    repeat: int,
) -> pl.DataFrame:
    columns: list[pl.Series] = []
    at = np.repeat(np.arange(len(labels)), repeat)
    for k, name in enumerate(by):
        values = labels if len(by) == 1 else [label[k] for label in labels]
        columns.append(pl.Series(name, values).gather(at))
    return pl.DataFrame([*columns, *(pl.Series(k, v) for k, v in table.items())])


def _ep_frame(
    by: tuple[str, ...],
    labels: list[Any],
    curves: np.ndarray,
    rps: np.ndarray,
    bounds: np.ndarray,
) -> pl.DataFrame:
    """``curves`` of shape (groups, 4 ep types, return periods) as the long EP table, with
    each figure's 95 % interval (``bounds``: NaN, shown as null, where exact)."""
    groups = len(labels)
    frame = _frames(
        by,
        labels,
        {
            "ep_type": np.tile(np.repeat(np.array(EP_TYPES), len(rps)), groups),
            "return_period": np.tile(rps, groups * len(EP_TYPES)),
            "loss": curves.reshape(-1),
            "low": bounds[..., 0].reshape(-1),
            "high": bounds[..., 1].reshape(-1),
        },
        len(EP_TYPES) * len(rps),
    )
    return frame.with_columns(pl.col("low", "high").fill_nan(None))


def _simulated(
    state: Simulated, rps: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group values, period losses, largest event losses, AAL moments, EP curves and their
    95 % intervals (:func:`~vecloss.risk.measures.sample_tail_intervals`)."""
    ledger = state.ledger
    if not ledger.cells.labels and not state.job.by:  # no buildings: one empty portfolio
        ledger.rows_for(np.zeros(1, np.uint64), [(0, None, None)])
    group, labels = _groups_of(ledger.cells.labels)
    total, largest = ledger.grouped(
        group, len(labels), events_are_cells=state.job.shared_by is not None
    )
    curves = np.empty((len(labels), len(EP_TYPES), len(rps)))
    bounds = np.empty((len(labels), len(EP_TYPES), len(rps), 2))
    stats = np.empty((len(labels), 3))
    for g in range(len(labels)):  # one step per group
        stats[g] = moments(total[g])
        for at, periods in ((0, largest[g]), (2, total[g])):  # OEP from largest, AEP from total
            var, tvar, var_low, var_high, tvar_low, tvar_high = sample_tail_intervals(periods, rps)
            curves[g, at], curves[g, at + 1] = var, tvar
            bounds[g, at] = np.column_stack([var_low, var_high])
            bounds[g, at + 1] = np.column_stack([tvar_low, tvar_high])
    return labels, total, largest, stats, curves, bounds


def _exact(state: Collected, rps: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Group values, exact AAL moments and EP curves (AEP NaN beyond the enumeration limit)."""
    cells = state.groups.labels or ([] if state.job.by else [(0, None, None)])
    group_of_row, labels = _groups_of(cells)
    group = group_of_row[state.column("group").astype(np.int64)]
    event_ids, event = np.unique(state.column("event").astype(np.uint64), return_inverse=True)
    event = event.reshape(-1)
    events = events_of(event, state.column("p"), state.column("loss"))
    event_group = np.zeros(len(event_ids), dtype=np.int64)
    event_group[event] = group
    count = len(labels)
    mean = np.bincount(group, weights=state.column("expected"), minlength=count)
    stats = np.column_stack([mean, deviation(events, event_group, count), np.zeros(count)])
    curves = np.full((count, len(EP_TYPES), len(rps)), np.nan)
    too_big = []
    owner = event_group[events.cell]
    order = np.argsort(owner, kind="stable")  # each group's events together, cells kept whole
    bounds = np.searchsorted(owner[order], np.arange(count + 1))
    for g in range(count):  # one step per group
        mine = order[bounds[g] : bounds[g + 1]]
        own = events.take(mine)
        curves[g, 0], curves[g, 1] = oep(own, rps)
        sums = aep(own, rps)
        if sums is None:
            too_big.append(labels[g])
        else:
            curves[g, 2], curves[g, 3] = sums
    if too_big:
        warn(
            f"the exact AEP is enumerated up to {AEP_OUTCOMES:,} outcomes; "
            f"{len(too_big)} group(s) have more and get NaN; hint: simulate instead"
        )
    return labels, stats, curves


def simulate(
    data: Any,
    *,
    periods: int = DEFAULT_PERIODS,
    seed: int = 0,
    by: str | Sequence[str] | None = None,
    shared_by: str | None = None,
    formula: FormulaArg = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    **options: Any,
) -> pl.DataFrame:
    """The year-loss table: ``[by], period, loss, max_event_loss``, one row per group and period.

    In each of ``periods`` simulated years every building is hit with its
    ``hazard_probability``, independently across years; a hit costs its loss if
    the hazard strikes, ``S = C * g / (1 + d)**T``. Buildings are hit
    independently of each other, or, with ``shared_by``, all buildings with the
    same value of that column share one uniform draw ``u`` per period and each
    is hit when ``u <= p`` (comonotone, one event per group). ``loss`` sums a
    period's hits (aggregate), ``max_event_loss`` is its largest event
    (occurrence). The draws depend on ``seed`` and each building's ``buildingId``
    (or its group's value) only: the same bits for any batching, any workers,
    any row order. ``data`` is a frame or any source :func:`vecloss.run` reads;
    ``options`` are ``engine`` (``vectorized`` or ``dask``), ``workers``,
    ``scheduler``, ``batch_rows``, ``on_invalid``, ``rejects``, ``progress``,
    ``table``, ``query``.
    """
    result = risk(
        data,
        periods=periods,
        seed=seed,
        by=by,
        shared_by=shared_by,
        formula=formula,
        years=years,
        discount_rate=discount_rate,
        return_periods=(1,),
        **options,
    )
    if result.ylt is None:  # (a simulation always has its year-loss table)
        msg = "simulate() found no year-loss table; hint: report it"
        raise RuntimeError(msg)
    return result.ylt


def risk(
    data: Any,
    *,
    periods: int | None = None,
    seed: int | None = None,
    exact: bool = False,
    return_periods: Sequence[float] = RETURN_PERIODS,
    by: str | Sequence[str] | None = None,
    shared_by: str | None = None,
    formula: FormulaArg = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    engine: str = "vectorized",
    workers: int | None = None,
    scheduler: Any = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_invalid: str = "fail",
    rejects: str | Path | None = None,
    progress: bool = False,
    table: str | None = None,
    query: str | None = None,
) -> RiskResult:
    """Average annual loss and exceedance curves, simulated (seeded) or exact.

    ``by`` (a column or a list of them) gives one AAL and set of curves per group.
    Returns a :class:`RiskResult`: ``aal`` (``[by], mean_loss, sd_loss,
    std_error``), ``ep`` (``[by], ep_type, return_period, loss`` with ``ep_type``
    in ``OEP``, ``OEP TVaR``, ``AEP``, ``AEP TVaR``) and, when simulated, ``ylt``
    (see :func:`simulate`). Simulated: ``periods`` (default 10,000) and
    ``seed`` (default 0); VaR at return period ``R`` is the ``(N/R)``-th largest
    of the ``N`` period losses, TVaR the mean of the ``N/R`` largest, linear in
    the return period between ranks. Exact (``exact=True``, no draws): AAL
    ``sum p * S``, its standard deviation, the OEP curve for any size, the AEP
    by enumeration up to 2**20 outcomes (NaN beyond, with a warning).
    """
    if exact and (periods is not None or seed is not None):
        msg = "exact=True computes without simulating; hint: drop periods and seed"
        raise UsageError(msg)
    job = _prepare(
        formula=formula,
        years=years,
        discount_rate=discount_rate,
        periods=DEFAULT_PERIODS if periods is None else periods,
        seed=0 if seed is None else seed,
        exact=exact,
        by=by,
        shared_by=shared_by,
        engine=engine,
        workers=workers,
        batch_rows=batch_rows,
        on_invalid=on_invalid,
        rejects=rejects,
        data=data,
    )
    rps = _return_periods(return_periods, None if exact else job.periods)
    state, rows, log, name, rejected = _tally(
        data,
        job,
        engine=engine,
        workers=workers,
        scheduler=scheduler,
        rejects=rejects,
        progress=progress,
        table=table,
        query=query,
    )
    if log.rows:
        warn(
            f"{name}: {log.rows:,} rows set aside (on_invalid='skip'); "
            f"the result covers the other {rows:,}"
        )
    ylt = None
    if isinstance(state, Collected):  # exact: no sampling error, no interval
        labels, stats, curves = _exact(state, rps)
        bounds = np.full((*curves.shape, 2), np.nan)
        aal_bounds = np.full((len(labels), 2), np.nan)
    else:
        labels, total, largest, stats, curves, bounds = _simulated(state, rps)
        aal_bounds = stats[:, [0]] + np.array([[-Z95, Z95]]) * stats[:, [2]]
        ylt = _frames(
            job.by,
            labels,
            {
                "period": np.tile(np.arange(1, job.periods + 1), len(labels)),
                "loss": total.reshape(-1),
                "max_event_loss": largest.reshape(-1),
            },
            job.periods,
        )
    aal = _frames(
        job.by,
        labels,
        {
            "mean_loss": stats[:, 0],
            "sd_loss": stats[:, 1],
            "std_error": stats[:, 2],
            "low": aal_bounds[:, 0],  # 95 %: mean -+ 1.96 standard errors
            "high": aal_bounds[:, 1],
        },
        1,
    ).with_columns(pl.col("low", "high").fill_nan(None))
    return RiskResult(
        input=name,
        rows=rows,
        rejected=log.rows,
        formula=job.run.scenario.formula,
        years=job.run.scenario.pairs[0][0],
        discount_rate=job.run.scenario.pairs[0][1],
        periods=None if exact else job.periods,
        seed=None if exact else job.seed,
        exact=exact,
        by=job.by[0] if len(job.by) == 1 else (list(job.by) or None),
        shared_by=shared_by,
        return_periods=rps.tolist(),
        aal=aal,
        ep=_ep_frame(job.by, labels, curves, rps, bounds),
        ylt=ylt,
        rejected_rows=rejected,
    )
