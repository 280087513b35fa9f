"""A finished tally as tables: the AAL and EP frames per group, simulated or exact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from vecloss.exceptions import warn
from vecloss.risk.exact import AEP_OUTCOMES, aep, deviation, events_of, oep
from vecloss.risk.lattice import MAX_CELL_WORK, MAX_SIZE, aep_bounds
from vecloss.risk.measures import moments, sample_tail, sample_tail_intervals
from vecloss.risk.result import EP_TYPES
from vecloss.risk.tally import Collected, Simulated


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


def group_frames(
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


def ep_frame(
    by: tuple[str, ...],
    labels: list[Any],
    curves: np.ndarray,
    rps: np.ndarray,
    bounds: np.ndarray,
) -> pl.DataFrame:
    """``curves`` of shape (groups, 4 ep types, return periods) as the long EP table, with
    each figure's 95 % interval (``bounds``: NaN, shown as null, where exact)."""
    groups = len(labels)
    frame = group_frames(
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


@dataclass
class Simulation:
    """A finished simulation as arrays, per group (in the order of ``labels``).

    ``total`` and ``largest``: period losses and largest event losses, shape (groups,
    blocks, periods), blocks as :attr:`RiskJob.blocks`; ``stats``: mean, standard deviation
    and standard error of the AAL; ``curves`` and ``bounds``: the EP curves (groups, 4 ep
    types, return periods) and their 95 % intervals. With damage uncertainty also
    ``analytical`` (mean and standard deviation of the mean-damage periods), ``split`` (the
    standard error's hazard and damage parts), ``calcs`` (the curves of OasisLMF's four
    EPCalc, groups x 4 x 4 ep types x return periods) and ``per_sample`` (each sample's
    curves, groups x samples x 4 x return periods).
    """

    labels: list[Any]
    total: np.ndarray
    largest: np.ndarray
    stats: np.ndarray
    curves: np.ndarray
    bounds: np.ndarray
    analytical: np.ndarray | None = None
    split: np.ndarray | None = None
    calcs: np.ndarray | None = None
    per_sample: np.ndarray | None = None


def year_loss_table(by: tuple[str, ...], sim: Simulation, *, damage: bool) -> pl.DataFrame:
    """``[by], period, loss, max_event_loss``; with damage uncertainty ``[by], sample,
    period, ...``: sample 0 the mean damage, then each drawn sample."""
    count, blocks, n = sim.total.shape
    columns = {"period": np.tile(np.arange(1, n + 1), count * blocks)}
    if damage:
        columns = {"sample": np.tile(np.repeat(np.arange(blocks), n), count), **columns}
    columns |= {
        "loss": sim.total.reshape(-1),
        "max_event_loss": sim.largest.reshape(-1),
    }
    return group_frames(by, sim.labels, columns, blocks * n)


def damage_frames(by: tuple[str, ...], sim: Simulation, rps: np.ndarray) -> dict[str, pl.DataFrame]:
    """With damage uncertainty, the long tables of :attr:`Simulation.calcs` (``ep_calcs``:
    ``[by], ep_calc, ep_type, return_period, loss``) and :attr:`Simulation.per_sample`
    (``psept``: ``[by], sample, ep_type, ...``) and the mean-damage AAL
    (``mean_damage_aal``: ``[by], mean_loss, sd_loss``); nothing without."""
    if sim.calcs is None or sim.per_sample is None or sim.analytical is None:
        return {}
    count = len(sim.labels)

    def long(curves: np.ndarray, name: str) -> pl.DataFrame:
        inner = curves.shape[1]
        width = len(EP_TYPES) * len(rps)
        return group_frames(
            by,
            sim.labels,
            {
                name: np.tile(np.repeat(np.arange(1, inner + 1), width), count),
                "ep_type": np.tile(np.repeat(np.array(EP_TYPES), len(rps)), count * inner),
                "return_period": np.tile(rps, count * inner * len(EP_TYPES)),
                "loss": curves.reshape(-1),
            },
            inner * width,
        )

    return {
        "ep_calcs": long(sim.calcs, "ep_calc"),
        "psept": long(sim.per_sample, "sample"),
        "mean_damage_aal": group_frames(
            by,
            sim.labels,
            {"mean_loss": sim.analytical[:, 0], "sd_loss": sim.analytical[:, 1]},
            1,
        ),
    }


def _tails(total: np.ndarray, largest: np.ndarray, rps: np.ndarray) -> np.ndarray:
    """VaR and TVaR of OEP (from ``largest``) and AEP (from ``total``): (4, return periods)."""
    oep, oep_tvar = sample_tail(largest, rps)
    aep, aep_tvar = sample_tail(total, rps)
    return np.stack([oep, oep_tvar, aep, aep_tvar])


def simulated_tables(state: Simulated, rps: np.ndarray) -> Simulation:
    """The finished ledger as a :class:`Simulation`; VaR and TVaR with their 95 % intervals
    (:func:`~vecloss.risk.measures.sample_tail_intervals`)."""
    ledger, job = state.ledger, state.job
    if not ledger.cells.labels and not job.by:  # no buildings: one empty portfolio
        ledger.rows_for(np.zeros(1, np.uint64), [(0, None, None)])
    group, labels = _groups_of(ledger.cells.labels)
    total, largest = ledger.grouped(group, len(labels), events_are_cells=job.shared_by is not None)
    count, n, samples = len(labels), job.periods, job.samples
    total = total.reshape(count, job.blocks, n)
    largest = largest.reshape(count, job.blocks, n)
    damage = job.damage_cv is not None
    sim = Simulation(
        labels,
        total,
        largest,
        np.empty((count, 3)),
        np.empty((count, len(EP_TYPES), len(rps))),
        np.full((count, len(EP_TYPES), len(rps), 2), np.nan),
    )
    if damage:
        sim.analytical = np.empty((count, 2))
        sim.split = np.empty((count, 2))
        sim.calcs = np.empty((count, 4, len(EP_TYPES), len(rps)))
        sim.per_sample = np.empty((count, samples, len(EP_TYPES), len(rps)))
    for g in range(count):  # one step per group
        drawn = slice(1, samples + 1) if damage else slice(0, 1)
        pooled, pooled_max = total[g, drawn].reshape(-1), largest[g, drawn].reshape(-1)
        mean, sd, se = moments(pooled)
        if damage:
            se = _period_error(total[g], samples)
            sim.analytical[g] = moments(total[g, 0])[:2]  # type: ignore[index]
            sim.split[g] = _split(total[g], samples, se, terms=_has_terms(job))  # type: ignore[index]
            _damage_curves(sim, g, rps)
        sim.stats[g] = mean, sd, se
        if samples > 1 and damage:  # (periods' samples are not independent draws: no band)
            sim.curves[g] = sim.calcs[g, 1]  # type: ignore[index]
            continue
        for at, periods in ((0, pooled_max), (2, pooled)):  # OEP from largest, AEP from total
            var, tvar, var_low, var_high, tvar_low, tvar_high = sample_tail_intervals(periods, rps)
            sim.curves[g, at], sim.curves[g, at + 1] = var, tvar
            sim.bounds[g, at] = np.column_stack([var_low, var_high])
            sim.bounds[g, at + 1] = np.column_stack([tvar_low, tvar_high])
    return sim


def _has_terms(job: Any) -> bool:
    return bool(job.damage_cap is not None or job.insured)


def _period_error(total: np.ndarray, samples: int) -> float:
    """The AAL's standard error from the periods' means over their samples (the periods are
    independent; the samples of one period share its hits)."""
    means = total[1 : samples + 1].mean(axis=0)
    return float(means.std(ddof=1) / np.sqrt(len(means))) if len(means) > 1 else 0.0


def _split(total: np.ndarray, samples: int, se: float, *, terms: bool) -> tuple[float, float]:
    """The AAL standard error's hazard and damage parts: ``se**2 = sd_h**2 / N + sd_d**2 /
    (N S)``, ``sd_h`` the deviation of the period's expected loss given its hits, ``sd_d``
    that of a draw around it. Without cap and terms the expected loss given the hits is the
    mean-damage period (block 0), exactly; with them it is estimated from the samples (two
    or more; else NaN)."""
    n = total.shape[1]
    drawn = total[1 : samples + 1]
    if not terms:
        within = float(((drawn - total[0]) ** 2).mean())
        hazard = float(total[0].std(ddof=1)) ** 2 / n if n > 1 else 0.0
        return float(np.sqrt(hazard)), float(np.sqrt(within / (n * samples)))
    if samples < 2:
        return float("nan"), float("nan")
    damage = float(drawn.var(axis=0, ddof=1).mean()) / (n * samples)
    return float(np.sqrt(max(se * se - damage, 0.0))), float(np.sqrt(damage))


def _damage_curves(sim: Simulation, g: int, rps: np.ndarray) -> None:
    """OasisLMF's four EP calculations of group ``g``: 1 mean damage (block 0), 2 full
    uncertainty (every period's every sample), 3 per-sample mean (the mean of the samples'
    curves, each in ``per_sample``), 4 sample mean (the curve of each period's mean over the
    samples of its total and of its largest event loss, as OasisLMF's ``lecpy``)."""
    total, largest = sim.total[g], sim.largest[g]
    samples = len(sim.per_sample[g])  # type: ignore[index]
    for k in range(samples):  # one step per sample
        sim.per_sample[g, k] = _tails(total[k + 1], largest[k + 1], rps)  # type: ignore[index]
    drawn = slice(1, samples + 1)
    sim.calcs[g] = [  # type: ignore[index]
        _tails(total[0], largest[0], rps),
        _tails(total[drawn].reshape(-1), largest[drawn].reshape(-1), rps),
        sim.per_sample[g].mean(axis=0),  # type: ignore[index]
        _tails(total[drawn].mean(axis=0), largest[drawn].mean(axis=0), rps),
    ]


def exact_tables(
    state: Collected, rps: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """Group values, exact AAL moments, EP curves and their bounds. The AEP is enumerated up
    to :data:`AEP_OUTCOMES` outcomes; beyond, it lies between two lattice curves
    (:func:`vecloss.risk.lattice.aep_bounds`: ``low`` and ``high``, the loss their
    midpoint; shared draws' cells each one event); NaN, with a warning, past the lattice's
    limits."""
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
    limits = np.full((*curves.shape, 2), np.nan)
    too_big = []
    owner = event_group[events.cell]
    order = np.argsort(owner, kind="stable")  # each group's events together, cells kept whole
    bounds = np.searchsorted(owner[order], np.arange(count + 1))
    for g in range(count):  # one step per group
        mine = order[bounds[g] : bounds[g + 1]]
        own = events.take(mine)
        curves[g, 0], curves[g, 1] = oep(own, rps)
        sums = aep(own, rps)
        if sums is not None:
            curves[g, 2], curves[g, 3] = sums
            continue
        lattice = aep_bounds(own.level - own.below, own.atom, rps, cell=own.cell)
        if lattice is None:
            too_big.append(labels[g])
            continue
        (var_low, tvar_low), (var_high, tvar_high) = lattice
        for curve, low, high in ((2, var_low, var_high), (3, tvar_low, tvar_high)):
            limits[g, curve, :, 0], limits[g, curve, :, 1] = low, high
            curves[g, curve] = (low + high) / 2
    if too_big:
        warn(
            f"the exact AEP is enumerated up to {AEP_OUTCOMES:,} outcomes; "
            f"{len(too_big)} group(s) have more and are beyond the lattice's limits "
            f"({MAX_SIZE:,} points; cells of shared draws times points {MAX_CELL_WORK:,}) and "
            "get NaN; hint: simulate instead"
        )
    return labels, stats, curves, limits
