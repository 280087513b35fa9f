"""One part of a run, start to end: read its batches, check them, compute, write, sum.

:func:`process_part` is the only worker: the in-process executor calls it for
each part in turn, the Dask executor on a cluster. It returns a small,
picklable :class:`PartResult` that the runner combines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecloss.checks.columns import check_columns
from vecloss.checks.ids import Seen, SeenIds
from vecloss.checks.log import FailureLog
from vecloss.checks.rules import FAILURES, ROW, Numeric, reason_text
from vecloss.formulas import FloatArray
from vecloss.io.sink import PartWriter
from vecloss.io.source import Part, iter_part
from vecloss.kernels import Kernel
from vecloss.run.batch import Batch, check_batch, loss_table
from vecloss.run.groups import GroupTotals
from vecloss.run.total import Total, TotalParts
from vecloss.scenario import Scenario
from vecloss.schema import ID, NUMERIC, REQUIRED

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "HeldRejects",
    "Job",
    "PartResult",
    "checked_batches",
    "process_part",
    "rejects_frame",
    "usable_batches",
    "with_shared_ids",
]

DEFAULT_BATCH_ROWS = 500_000


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to process a part, besides the part: picklable."""

    scenario: Scenario
    kernel: Kernel = field(default_factory=Kernel)
    source: str = "portfolio"
    batch_rows: int = DEFAULT_BATCH_ROWS
    keep: tuple[str, ...] = ()
    by: tuple[str, ...] = ()  # the group columns
    on_invalid: str = "fail"
    preview_rows: int = 0
    top: int = 0  # keep the largest losses (0: none)
    hold_rejects: bool = False  # skip mode without a rejects file: rejected rows come back
    strings: bool = True  # parse numbers written as strings (text files; not frames)

    @property
    def carry(self) -> list[str]:
        """The input columns read besides the formula's: kept ones and the group columns."""
        extra = [*self.keep, *self.by]
        return [c for c in dict.fromkeys(extra) if c not in self.inputs]

    @property
    def inputs(self) -> list[str]:
        """The columns the formula needs: the schema's, then the formula's extra columns."""
        return [*REQUIRED, *(c.name for c in self.scenario.spec.extra)]


def checked_batches(part: Part, job: Job, seen: Seen | None) -> Iterator[tuple[Batch, int]]:
    """Yield every checked batch of a part, with the input row number of its first row."""
    row = part.first_row
    wanted = [*job.inputs, *job.carry]
    checked, numeric = False, job.scenario.spec.numeric
    for batch in iter_part(part, batch_rows=job.batch_rows, columns=wanted):
        if not checked:
            names = None if set(wanted) <= set(batch.columns) else part.columns()
            check_columns(
                batch.schema, job.source, carry=job.carry, all_columns=names, numeric=numeric
            )
            checked = True
        result = check_batch(
            batch, job.scenario, job.kernel, row_offset=row, seen=seen, strings=job.strings
        )
        yield result, row
        row += batch.height
    if not checked:  # no batch at all (a reader gives none when no asked-for column is there)
        names = part.columns()
        check_columns(dict.fromkeys(names, pl.Null()), job.source, carry=job.carry, numeric=numeric)


def _own(part: Part) -> SeenIds:
    """The seen ids of a part checked apart: those it shares with the parts before it."""
    seen = SeenIds()
    if part.shared is not None and part.shared.len():
        seen.add(part.shared)
    return seen


def usable_batches(
    part: Part,
    job: Job,
    *,
    seen: Seen | None,
    log: FailureLog,
    rejects: Any,
    progress: Any,
) -> Iterator[tuple[Batch, int]]:
    """Check a part's batches: count progress, log failures, write rejected rows to the
    ``rejects`` writer (with a header even if none come); yield the batches whose good rows
    are to be used, none once fail mode has seen a bad row (reading goes on: the error
    reports the whole source)."""
    headed = False
    for batch, first_row in checked_batches(part, job, seen if seen is not None else _own(part)):
        if progress is not None:
            progress.update(batch.valid.height + batch.rejected.height)
        log.add(batch.rejected)
        if log and job.on_invalid == "fail":
            continue
        if rejects is not None and (batch.rejected.height or not headed):
            frame = rejects_frame(batch.rejected, job.scenario.spec.numeric)
            rejects.header(frame)
            headed = True
            if frame.height:
                rejects.write(frame)
        yield batch, first_row


@dataclass
class PartResult:
    """What processing one part gives back: small, picklable, combinable."""

    part: Part
    rows: int = 0
    log: FailureLog = field(default_factory=FailureLog)
    totals: list[TotalParts] = field(default_factory=list)
    groups: GroupTotals | None = None
    output: Path | None = None
    rejects: Path | None = None
    preview: pl.DataFrame | None = None
    top: pl.DataFrame | None = None
    rejected_rows: pl.DataFrame | None = None
    percent_like: int = 0  # inflation rates above 1: percentages where fractions go?


def above_one(inflation: pl.Series) -> int:
    """How many inflation rates are above 1 (one maximum when none is, the common case; Polars
    reads a chunked column where it lies)."""
    top = inflation.max()
    if top is None or not top > 1:  # type: ignore[operator]
        return 0
    return int((inflation > 1).sum())


def process_part(
    part: Part,
    job: Job,
    *,
    out: PartWriter | None = None,
    rejects: PartWriter | None = None,
    seen: Seen | None = None,
    progress: Any = None,
) -> PartResult:
    """Stream one part: check, compute, write the good rows to ``out`` and bad ones to ``rejects``.

    In fail mode a bad row stops the writing but not the reading: the log
    reports the whole source. ``seen`` carries the ids of the parts before
    (in-process); a Dask part starts its own from the ids it shares with them
    (``Part.shared``, :func:`with_shared_ids`).
    """
    result = PartResult(
        part, output=out.path if out else None, rejects=rejects.path if rejects else None
    )
    totals = [Total(offset=part.file_row) for _ in job.scenario.pairs]
    result.groups = GroupTotals(job.by, job.scenario.pairs) if job.by else None
    previews: list[pl.DataFrame] = []
    held = HeldRejects() if job.hold_rejects else None
    with (
        (out or PartWriter()).open() as writer,
        (rejects or PartWriter()).open() as rejected_writer,
    ):
        usable = usable_batches(
            part, job, seen=seen, log=result.log, rejects=rejected_writer or held, progress=progress
        )
        for batch, first_row in usable:
            want_preview = sum(p.height for p in previews) < job.preview_rows
            if writer is not None or want_preview or job.top:  # the long table only if used
                ids = batch.valid.select(ID, *[c for c in job.keep if c != ID])
                rows = loss_table(ids, job.scenario, batch.losses)
                if writer is not None:
                    writer.write(rows)
                if want_preview:
                    previews.append(rows.head(job.preview_rows))
                if job.top:
                    result.top = largest(result.top, rows, job.top)
            if result.groups is not None:
                result.groups.add(batch.valid, batch.losses)
            result.rows += batch.valid.height
            result.percent_like += above_one(batch.valid["inflation_rate"])
            for total, loss in zip(totals, batch.losses, strict=True):
                total.add(_in_place(loss, batch, first_row))
    result.totals = [t.parts() for t in totals]
    result.preview = pl.concat(previews).head(job.preview_rows) if previews else None
    result.rejected_rows = held.frame() if held is not None else None
    return result


def largest(top: pl.DataFrame | None, rows: pl.DataFrame, count: int) -> pl.DataFrame:
    """The ``count`` largest losses of ``top`` and ``rows``, largest first (ties: earlier first)."""
    both = rows if top is None else pl.concat([top, rows])
    return both.top_k(count, by="loss").sort("loss", descending=True, maintain_order=True)


class HeldRejects:
    """A rejects writer that keeps the rows (skip mode without a rejects file; validate)."""

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []
        self._header: pl.DataFrame | None = None

    def header(self, frame: pl.DataFrame) -> None:
        if self._header is None:
            self._header = frame.clear()

    def write(self, frame: pl.DataFrame) -> None:
        self._frames.append(frame)

    def frame(self) -> pl.DataFrame | None:
        if self._frames:
            return pl.concat(self._frames, how="diagonal_relaxed")
        return self._header


def rejects_frame(rejected: pl.DataFrame, numeric: Numeric = NUMERIC) -> pl.DataFrame:
    """Rejected rows as written: their original values, ``row`` and ``reason``."""
    return (
        rejected.with_columns(reason=reason_text(pl.col(FAILURES), numeric))
        .drop(FAILURES)
        .rename({ROW: "row"})
    )


def _in_place(loss: FloatArray, batch: Batch, first_row: int) -> FloatArray:
    """The losses in row order, 0.0 in the place of a rejected row (for the total)."""
    if batch.rejected.height == 0:
        return loss
    full = np.zeros(batch.valid.height + batch.rejected.height)
    full[(batch.valid[ROW].to_numpy() - first_row).astype(np.int64)] = loss
    return full


def with_shared_ids(parts: Sequence[Part], batch_rows: int) -> list[Part]:
    """``parts``, each with the ids it shares with the parts before it (``Part.shared``), for
    parts checked apart (Dask): each then starts its seen ids with them, and rejects exactly
    the rows a run in turn would (an id belongs to the first row that gives it), in skip
    mode as in fail mode, for a run and for risk alike.

    One pass over the id column here, before the work; skipped when Parquet statistics
    show each part's integer ids above the last part's (sorted ids: nothing can repeat).
    """
    if _apart_by_statistics(parts):
        return list(parts)
    seen = SeenIds()
    marked = []
    for part in parts:
        batches = iter_part(part, batch_rows=batch_rows, columns=[ID])
        columns = [b[ID] for b in batches if ID in b.columns]  # (missing: the part says so)
        ids = pl.concat(columns).drop_nulls().unique(maintain_order=True) if columns else None
        shared = ids.filter(seen.add(ids)) if ids is not None and ids.len() else None
        marked.append(replace(part, shared=shared))
    return marked


def _apart_by_statistics(parts: Sequence[Part]) -> bool:
    """Whether every part is Parquet whose row groups' integer id statistics put it wholly
    above the part before it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    last = None
    for part in parts:
        if part.query is not None or part.frame is not None or not part.path.endswith(".parquet"):
            return False
        meta = pq.ParquetFile(part.path).metadata
        schema = meta.schema.to_arrow_schema()
        if ID not in schema.names or not pa.types.is_integer(schema.field(ID).type):
            return False
        column = schema.get_field_index(ID)
        groups = part.row_groups if part.row_groups is not None else range(meta.num_row_groups)
        low = high = None
        for group in groups:
            if meta.row_group(group).num_rows == 0:
                continue
            stats = meta.row_group(group).column(column).statistics
            if stats is None or not stats.has_min_max:
                return False
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
        if low is not None and last is not None and low <= last:
            return False
        last = high if high is not None else last
    return True
