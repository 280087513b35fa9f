"""A finished tally as tables: the AAL and EP frames per group, simulated or exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from vecloss.exceptions import warn
from vecloss.risk.exact import AEP_OUTCOMES, aep, deviation, events_of, oep
from vecloss.risk.lattice import MAX_SIZE, aep_bounds
from vecloss.risk.measures import moments, sample_tail_intervals
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


def simulated_tables(
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


def exact_tables(
    state: Collected, rps: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """Group values, exact AAL moments, EP curves and their bounds. The AEP is enumerated up
    to :data:`AEP_OUTCOMES` outcomes; beyond, for independent buildings, it lies between two
    lattice curves (:func:`vecloss.risk.lattice.aep_bounds`: ``low`` and ``high``, the loss
    their midpoint); else NaN, with a warning."""
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
        lattice = aep_bounds(own.level, own.atom, rps) if state.job.shared_by is None else None
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
            f"{len(too_big)} group(s) have more (with shared draws, or beyond the lattice's "
            f"{MAX_SIZE:,} points) and get NaN; hint: simulate instead"
        )
    return labels, stats, curves, limits
