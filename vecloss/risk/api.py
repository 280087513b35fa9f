"""``vecloss.simulate`` and ``vecloss.risk``: the year-loss table, AAL and EP curves.

::

    data (frame | file | folder | database) --checked batches--> tally per part
        (simulated: the exact year-loss ledger | exact: each building's p and loss)
        --merge (exact, any order)--> YLT per group --> AAL, OEP/AEP VaR and TVaR

Parameters are checked before any data is read; the validation, skip mode,
executors and progress are :func:`vecloss.run`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.display import counted
from vecloss.exceptions import UsageError, warn
from vecloss.risk.measures import Z95
from vecloss.risk.plan import (
    DEFAULT_PERIODS,
    prepare,
    return_periods_of,
    tally,
)
from vecloss.risk.result import RiskResult
from vecloss.risk.tables import (
    damage_frames,
    ep_frame,
    exact_tables,
    group_frames,
    simulated_tables,
    year_loss_table,
)
from vecloss.risk.tally import Collected
from vecloss.run.worker import DEFAULT_BATCH_ROWS
from vecloss.scenario import FormulaArg

__all__ = ["DEFAULT_PERIODS", "RETURN_PERIODS", "risk", "simulate"]

RETURN_PERIODS: tuple[int, ...] = (10, 50, 100, 250, 500)


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
    """The year-loss table: ``[by], period, loss, max_event_loss``, one row per group and period
    (with damage uncertainty, ``[by], sample, period, ...``: sample 0 the mean damage).

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
    deductible: str | None = None,
    limit: str | None = None,
    damage_cv: float | str | None = None,
    samples: int = 1,
    damage_cap: float | str | None = None,
) -> RiskResult:
    """Average annual loss and exceedance curves, simulated (seeded) or exact.

    ``by`` (a column or a list of them) gives one AAL and set of curves per group.
    ``deductible`` and ``limit`` name columns of insurance terms per building (money, as
    ``construction_cost``; a deductible finite and >= 0, a limit finite and > 0): each hit's
    loss ``S`` then also counts as ``min(max(S - deductible, 0), limit)``, and every table has
    a first group column ``perspective``, ``gross`` and ``insured``, from the same draws.
    ``damage_cv`` (a number, or a column of them) adds damage uncertainty: each hit costs
    ``S * Z``, ``Z`` lognormal with mean 1 and that coefficient of variation, drawn from the
    building's own stream (simulated only). ``samples`` draws per hit (default 1) give
    OasisLMF's four EP calculations (``ep_calcs``), each sample's curves (``psept``) and the
    AAL's standard error split into its hazard and damage parts (``aal``'s ``se_hazard`` and
    ``se_damage``); ``ep`` is then the full-uncertainty curve. ``damage_cap`` (money, a
    number or a column) caps each draw's loss before any deductible and limit.
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
    job = prepare(
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
        deductible=deductible,
        limit=limit,
        damage_cv=damage_cv,
        samples=samples,
        damage_cap=damage_cap,
    )
    rps = return_periods_of(return_periods, None if exact else job.periods)
    state, rows, log, name, rejected = tally(
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
            f"{name}: {counted(log.rows, 'row')} set aside (on_invalid='skip'); "
            f"the result covers the other {rows:,}"
        )
    ylt = sim = None
    if isinstance(state, Collected):  # exact: no sampling error, no interval
        labels, stats, curves, bounds = exact_tables(state, rps)
        aal_bounds = np.full((len(labels), 2), np.nan)
    else:
        sim = simulated_tables(state, rps)
        labels, stats, curves, bounds = sim.labels, sim.stats, sim.curves, sim.bounds
        aal_bounds = stats[:, [0]] + np.array([[-Z95, Z95]]) * stats[:, [2]]
        ylt = year_loss_table(job.by, sim, damage=job.damage_cv is not None)
    columns = {
        "mean_loss": stats[:, 0],
        "sd_loss": stats[:, 1],
        "std_error": stats[:, 2],
        "low": aal_bounds[:, 0],  # 95 %: mean -+ 1.96 standard errors
        "high": aal_bounds[:, 1],
    }
    if sim is not None and sim.split is not None:
        columns |= {"se_hazard": sim.split[:, 0], "se_damage": sim.split[:, 1]}
    aal = group_frames(job.by, labels, columns, 1).with_columns(
        pl.col("low", "high").fill_nan(None)
    )
    damage = damage_frames(job.by, sim, rps) if sim is not None else {}
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
        ep=ep_frame(job.by, labels, curves, rps, bounds),
        ylt=ylt,
        rejected_rows=rejected,
        damage_cv=job.damage_cv,
        samples=job.samples,
        damage_cap=job.damage_cap,
        **damage,
    )
