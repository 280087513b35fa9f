"""One part of a risk pass: read its checked batches and tally them, simulated or exact.

:func:`tally_part` is the risk twin of :func:`vecloss.run.worker.process_part`:
the same checked batches (the same validation, skip mode and rejects), and a
small picklable :class:`TallyPart` back, whose state merges exactly:

- :class:`Simulated`: the year-loss ledger (:mod:`vecloss.risk.ledger`), cells
  by ``by`` value (independent) or ``(by, shared_by)`` pair (shared);
- :class:`Collected`: what the exact answer needs of each building (its group,
  event cell, ``p``, loss if hit and expected loss).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from vecloss.checks.ids import Seen
from vecloss.checks.log import FailureLog
from vecloss.formulas import PROBABILITY, FloatArray, discount_factor
from vecloss.io.sink import PartWriter
from vecloss.io.source import Part
from vecloss.risk.draws import GAMMA, U64, mix, stream_keys, value_keys
from vecloss.risk.hits import (
    DRAW_BUDGET,
    candidates,
    expected_draws,
    hits_among,
    independent_hits,
    thresholds,
)
from vecloss.risk.ledger import Cells, IntArray, Ledger, limbs_of
from vecloss.run.worker import HeldRejects, Job, usable_batches
from vecloss.scenario import Scenario
from vecloss.schema import ID

__all__ = [
    "PERSPECTIVE",
    "Collected",
    "RiskJob",
    "Simulated",
    "TallyPart",
    "new_state",
    "severity",
    "tally_part",
    "with_terms",
]

_BUILDINGS, _GROUPS, _DAMAGE = 1, 2, 3  # stream numbers: hits, a shared group's, damage


@dataclass(frozen=True)
class RiskJob:
    """What a risk worker needs besides the part: picklable."""

    run: Job  # the checking side: scenario, source name, batch rows, on_invalid, columns read
    periods: int = 10_000
    seed: int = 0
    exact: bool = False
    by: tuple[str, ...] = ()  # the group columns (with ``perspective`` first, under terms)
    shared_by: str | None = None
    deductible: str | None = None  # the columns of the insurance terms, if any
    limit: str | None = None
    damage_cv: float | str | None = None  # the damage's coefficient of variation, or its column
    samples: int = 1  # damage draws per hit
    damage_cap: float | str | None = None  # the largest loss of one hit (money), or its column

    @property
    def blocks(self) -> int:
        """Blocks of ``periods`` in the ledger: 1 without damage uncertainty; else the mean
        damage (block 0) and each sample (1 to ``samples``)."""
        return 1 if self.damage_cv is None else 1 + self.samples

    @property
    def insured(self) -> bool:
        """Whether each hit's loss is also taken through a deductible and a limit."""
        return self.deductible is not None or self.limit is not None


def severity(valid: pl.DataFrame, scenario: Scenario) -> FloatArray:
    """Each building's loss if the hazard strikes, discounted: ``S / (1 + d)**T``, the
    formula's severity apart from its probability (:attr:`Formula.severity`)."""
    (years, rate), *_ = scenario.pairs
    formula = scenario.spec
    columns = {c: valid[c].to_numpy() for c in formula.columns}
    columns[PROBABILITY] = np.ones(valid.height)  # (p = 1: the same operations as the loss)
    return formula.loss(columns, years, rate)


#: Sample ``k`` of a hit in period ``t`` takes draw ``t + (k - 1) * 2**40`` of the stream.
_SAMPLE_STRIDE = np.uint64(1 << 40)


def damage_factors(keys: U64, period: IntArray, cv: FloatArray, sample: int = 1) -> FloatArray:
    """Each hit's damage factor ``Z``, lognormal with mean 1 and coefficient of variation
    ``cv``: ``Z = exp(s N - s**2 / 2)``, ``s**2 = log(1 + cv**2)``, ``N`` standard normal by
    Box-Muller from the two 32-bit halves of draw ``t + (sample - 1) 2**40`` of the
    building's damage stream, for period ``t`` (uniforms ``(h + 1/2) / 2**32``: ``|N|``
    stays below 6.7). The normal is
    computed in float32 (NumPy's vectorized float32 ``log``, ``cos``, ``exp``: six times
    faster here than float64; a draw needs no more precision). The same for any batch, order,
    worker or executor. ``cv = 0`` gives 1 exactly."""
    draw = period.astype(np.uint64) + np.uint64(sample - 1) * _SAMPLE_STRIDE
    bits = mix(keys + draw * GAMMA)
    radius = (bits & np.uint64(0xFFFFFFFF)).astype(np.float32)
    angle = (bits >> np.uint64(32)).astype(np.float32)
    radius += np.float32(0.5)
    radius *= np.float32(2.0**-32)
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle += np.float32(0.5)
    angle *= np.float32(2.0 * np.pi * 2.0**-32)
    np.cos(angle, out=angle)
    radius *= angle  # N
    spread = np.sqrt(np.log1p(cv * cv)).astype(np.float32)
    radius *= spread
    radius -= spread * spread / np.float32(2.0)
    np.exp(radius, out=radius)
    factor: FloatArray = radius.astype(np.float64)
    return factor


#: The column that tells gross and insured results apart, under insurance terms.
PERSPECTIVE = "perspective"


def row_terms(
    valid: pl.DataFrame, job: RiskJob
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """Per row, the damage cap, deductible and limit (money of the year of the hit, so
    discounted as ``S`` is; ``inf``, 0 and ``inf`` where none; the deductible and limit only
    on the ``insured`` rows), or None when the job has neither a cap nor terms."""
    if job.damage_cap is None and not job.insured:
        return None
    (years, rate), *_ = job.run.scenario.pairs
    factor = discount_factor(years, rate)
    insured = (
        (valid[PERSPECTIVE] == "insured").to_numpy()
        if job.insured
        else np.zeros(valid.height, bool)
    )

    def money(value: float | str | None, none: float, rows: Any = slice(None)) -> FloatArray:
        out = np.full(valid.height, none)
        if value is not None:
            given = (
                valid[value].to_numpy() if isinstance(value, str) else np.full(valid.height, value)
            )
            out[rows] = given[rows] * factor
        return out

    return (
        money(job.damage_cap, np.inf),
        money(job.deductible, 0.0, insured),
        money(job.limit, np.inf, insured),
    )


def apply_terms(
    loss: FloatArray, terms: tuple[FloatArray, FloatArray, FloatArray] | None
) -> FloatArray:
    """A hit's loss through the damage cap, then the deductible and limit:
    ``min(max(min(S, cap) - D, 0), L)`` (``S`` itself where there are none)."""
    if terms is None:
        return loss
    cap, deductible, limit = terms
    with np.errstate(invalid="ignore", over="ignore"):
        return np.minimum(np.maximum(np.minimum(loss, cap) - deductible, 0.0), limit)


def with_terms(
    valid: pl.DataFrame, expected: FloatArray, job: RiskJob
) -> tuple[pl.DataFrame, FloatArray, FloatArray]:
    """Every building twice, ``perspective`` ``gross`` then ``insured``, with its loss if hit
    and expected loss: the insured loss of a hit is ``min(max(S - D, 0), L)`` (the deductible
    ``D`` and limit ``L`` in money of the year of the hit, so discounted as ``S`` is). The two
    copies share their id, so their draws, and every hit falls on both."""
    gross = severity(valid, job.run.scenario)
    both = pl.concat(
        [
            valid.with_columns(pl.lit("gross").alias(PERSPECTIVE)),
            valid.with_columns(pl.lit("insured").alias(PERSPECTIVE)),
        ]
    )
    loss = apply_terms(np.concatenate([gross, gross]), row_terms(both, job))
    p = valid["hazard_probability"].to_numpy()
    return both, loss, np.concatenate([expected, p * loss[valid.height :]])


def _cell_keys(valid: pl.DataFrame, job: RiskJob) -> tuple[U64, U64, list[Any], U64]:
    """Per building: the by key, the cell key, the labels of the distinct cell keys (in
    increasing key order: ``(by key, by value, shared value)``) and the shared group key."""
    n = valid.height
    by_keys = _group_keys(valid, job.by) if job.by else np.zeros(n, dtype=np.uint64)
    shared = value_keys(valid[job.shared_by]) if job.shared_by else None
    cells = by_keys if shared is None else mix(by_keys ^ mix(shared))
    _, first = np.unique(cells, return_index=True)
    by_values: list[Any] = [None] * len(first)
    if len(job.by) == 1:
        by_values = valid[job.by[0]].gather(first).to_list()
    elif job.by:  # several columns: a tuple of values per group
        by_values = list(zip(*(valid[c].gather(first).to_list() for c in job.by), strict=True))
    shared_values = (
        valid[job.shared_by].gather(first).to_list() if job.shared_by else [None] * len(first)
    )
    labels = list(zip(by_keys[first].tolist(), by_values, shared_values, strict=True))
    return by_keys, cells, labels, (np.zeros(0, np.uint64) if shared is None else shared)


def _group_keys(valid: pl.DataFrame, by: tuple[str, ...]) -> U64:
    """A 64-bit key per row for its group: one column's value keys (as ever), or those of
    several columns mixed together in order."""
    keys = value_keys(valid[by[0]])
    for column in by[1:]:
        keys = mix(keys ^ mix(value_keys(valid[column]) + np.uint64(0x9E3779B97F4A7C15)))
    return keys


def _slices(weight: FloatArray) -> list[slice]:
    """Consecutive slices of about :data:`DRAW_BUDGET` draws each (a row weighs at least 1)."""
    if len(weight) == 0:
        return []
    total = np.cumsum(np.maximum(weight, 1.0))
    marks = np.arange(1, int(total[-1] // DRAW_BUDGET) + 1) * float(DRAW_BUDGET)
    cuts = np.searchsorted(total, marks, side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(weight)]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


@dataclass
class Simulated:
    """The year-loss ledger of the buildings tallied so far."""

    job: RiskJob
    ledger: Ledger = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.job.periods * self.job.blocks)

    def add(
        self, valid: pl.DataFrame, expected: FloatArray, loss: FloatArray | None = None
    ) -> None:
        del expected
        job, n = self.job, self.job.periods
        p = valid["hazard_probability"].to_numpy()
        drawn = job.damage_cv is not None  # (a draw can cost where its mean does not)
        cost = severity(valid, job.run.scenario) if loss is None or drawn else loss
        live = (p > 0) & (cost > 0)
        if not live.all():
            valid, p, cost = valid.filter(pl.Series(live)), p[live], cost[live]
        if valid.height == 0:
            return
        ids = cache(lambda: value_keys(valid[ID]))  # (hashed once, for damage and hits alike)
        damage = None
        if job.damage_cv is not None:
            cv, terms = job.damage_cv, row_terms(valid, job)
            spread = valid[cv].to_numpy() if isinstance(cv, str) else np.full(valid.height, cv)
            keys = stream_keys(ids(), job.seed, _DAMAGE)
            damage = (keys, spread, cost, terms)
            cost = apply_terms(cost, terms)  # the mean damage, through the terms
        _, cell_keys, labels, shared = _cell_keys(valid, job)
        rows = self.ledger.rows_for(cell_keys, labels)
        rounded, limbs = limbs_of(cost, job.run.source)
        costs = (rows, rounded, limbs, damage)
        if job.shared_by is None:
            keys = stream_keys(ids(), job.seed, _BUILDINGS)
            for part in _slices(expected_draws(p, n)):
                b, when = independent_hits(keys[part], p[part], n)
                self._hits(np.arange(part.start, part.stop), costs, b, when)
            return
        self._add_shared(stream_keys(shared, job.seed, _GROUPS), p, costs)

    def _hits(self, at: IntArray, costs: Any, b: IntArray, when: IntArray) -> None:
        """Add hits ``b`` (indexing ``at``, the buildings' rows here) in periods ``when``: each
        costs its building's loss (block 0: the mean damage) and, with damage uncertainty,
        that loss times each sample's draw, through the cap and terms (blocks 1 to
        ``samples``). ``costs``: each building's ledger row, rounded loss, limbs, and the
        damage's keys, coefficients of variation, gross losses and terms (None without
        damage uncertainty)."""
        rows, rounded, limbs, damage = costs
        self.ledger.add(rows[at], rounded[at], limbs[:, at], b, when)
        if damage is None:
            return
        keys, spread, gross, terms = damage
        hit, n = at[b], self.job.periods
        keys, spread, gross, rows = keys[hit], spread[hit], gross[hit], rows[hit]
        terms = None if terms is None else tuple(t[hit] for t in terms)
        index, source = np.arange(len(hit)), self.job.run.source
        for sample in range(1, self.job.samples + 1):  # one step per sample
            cost = apply_terms(gross * damage_factors(keys, when, spread, sample), terms)
            self.ledger.add(rows, *limbs_of(cost, source), index, when + sample * n)

    def _add_shared(self, keys: U64, p: FloatArray, costs: Any) -> None:
        n = self.job.periods
        groups, group = np.unique(keys, return_inverse=True)
        order = np.argsort(group, kind="stable")
        step = max(1, min(1024, (1 << 22) // n))  # a draw matrix of at most 4M per call
        for lo in range(0, len(groups), step):  # one step per block of groups
            begin, end = np.searchsorted(group[order], [lo, lo + step])
            members = order[begin:end]
            top = np.zeros(min(step, len(groups) - lo), dtype=np.uint64)
            np.maximum.at(top, group[members] - lo, thresholds(p[members]))
            found = candidates(groups[lo : lo + step], top, n)
            for part in _slices(n * p[members]):
                at = members[part]
                b, when = hits_among(found, group[at] - lo, p[at])
                self._hits(at, costs, b, when)

    def merge(self, other: Simulated) -> None:
        self.ledger.merge(other.ledger)


@dataclass
class Collected:
    """For the exact answer: per building its group, event cell, ``p``, loss if hit, expected."""

    job: RiskJob
    groups: Cells = field(default_factory=Cells)
    arrays: dict[str, list[Any]] = field(
        default_factory=lambda: {k: [] for k in ("group", "event", "p", "loss", "expected")}
    )

    def add(
        self, valid: pl.DataFrame, expected: FloatArray, loss: FloatArray | None = None
    ) -> None:
        if valid.height == 0:
            return
        by_keys, cell_keys, labels, _ = _cell_keys(valid, self.job)
        by_labels = {key: (key, by, None) for key, by, _shared in labels}
        distinct = np.unique(by_keys)
        group = self.groups.rows_for(by_keys, [by_labels[k] for k in distinct.tolist()])
        event = value_keys(valid[ID]) if self.job.shared_by is None else cell_keys
        if self.job.insured:  # (a building's gross and insured copies: two groups' events)
            event = mix(event ^ by_keys)
        for name, values in (
            ("group", group),
            ("event", event),
            ("p", valid["hazard_probability"].to_numpy()),
            ("loss", severity(valid, self.job.run.scenario) if loss is None else loss),
            ("expected", expected),
        ):
            self.arrays[name].append(values)

    def merge(self, other: Collected) -> None:
        remap = self.groups.merge_rows(other.groups)
        for name, values in other.arrays.items():
            self.arrays[name].extend(remap[v] if name == "group" else v for v in values)

    def column(self, name: str) -> Any:
        parts = self.arrays[name]
        return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class TallyPart:
    """One part's tally: rows tallied, failures, and the state (picklable, mergeable)."""

    part: Part
    state: Simulated | Collected
    rows: int = 0
    log: FailureLog = field(default_factory=FailureLog)
    rejects: Any = None
    output: Any = None
    rejected_rows: pl.DataFrame | None = None  # skip mode without a rejects file


def new_state(job: RiskJob) -> Simulated | Collected:
    """An empty tally of the job's kind."""
    return Collected(job) if job.exact else Simulated(job)


def tally_part(
    part: Part,
    job: RiskJob,
    *,
    out: PartWriter | None = None,
    rejects: PartWriter | None = None,
    seen: Seen | None = None,
    progress: Any = None,
) -> TallyPart:
    """Check a part's batches and tally the good rows; bad rows to ``rejects`` in skip mode."""
    del out  # a risk pass writes its tables at the end, not per part
    state = new_state(job)
    result = TallyPart(part, state, rejects=rejects.path if rejects else None)
    held = HeldRejects() if job.run.hold_rejects else None
    with (rejects or PartWriter()).open() as rejected_writer:
        usable = usable_batches(
            part,
            job.run,
            seen=seen,
            log=result.log,
            rejects=rejected_writer or held,
            progress=progress,
        )
        for batch, _ in usable:
            if job.insured:
                valid, loss, expected = with_terms(batch.valid, batch.losses[0], job)
                state.add(valid, expected, loss)
            else:
                state.add(batch.valid, batch.losses[0])
            result.rows += batch.valid.height
    result.rejected_rows = held.frame() if held is not None else None
    return result
