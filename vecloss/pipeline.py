"""read -> validate -> compute -> write, batch by batch, with the summary and the totals."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from vecloss.compute import Model, as_pairs, compute_batch, grid_batch
from vecloss.engines import ENGINES
from vecloss.exceptions import InputError, UsageError
from vecloss.formulas import FloatArray, Formula, check_parameters
from vecloss.groups import GroupTotals
from vecloss.io.sources import (
    Output,
    Part,
    count_rows,
    format_of,
    iter_part,
    plan_parts,
    source_columns,
)
from vecloss.schema import ID, REQUIRED
from vecloss.total import Total, TotalParts, file_block_sums
from vecloss.validate import ROW, FailureLog, SeenIds, check_columns

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "Accumulator",
    "Job",
    "OnInvalid",
    "Summary",
    "checked_batches",
    "run",
]

OnInvalid = Literal["fail", "skip"]
IndexArray = npt.NDArray[np.int64]
DEFAULT_BATCH_ROWS = 1_000_000

Years = int | Sequence[int]
Rates = float | Sequence[float]


@dataclass
class Summary:
    """What a run did: the numbers ``--json`` prints.

    ``rows`` counts the buildings written and ``rejected`` those set aside:
    together, every row of the input. ``total_loss`` is the portfolio total
    (None for a grid of several pairs); ``totals`` has one total per (years,
    discount rate) pair, ``output_rows`` the rows of the long output table, and
    ``groups`` one row per (pair, group) when a ``by`` column is given.
    """

    input: str
    output: str | None
    rows: int
    rejected: int
    total_loss: float | None
    formula: str
    years: int | list[int]
    discount_rate: float | list[float]
    engine: str
    seconds: float
    rejects: str | None = None
    totals: list[dict[str, Any]] = field(default_factory=list)
    output_rows: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)
    preview: pl.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values (without the preview)."""
        data = asdict(self)
        data.pop("preview")
        return data


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to process a part, besides the part: picklable."""

    model: Model
    pairs: tuple[tuple[int, float], ...]
    batch_rows: int = DEFAULT_BATCH_ROWS
    keep: tuple[str, ...] = ()
    by: str | None = None
    on_invalid: str = "fail"

    @property
    def carry(self) -> list[str]:
        """The input columns read besides the schema's: kept ones and the group column."""
        extra = [*self.keep, *([self.by] if self.by else [])]
        return [c for c in dict.fromkeys(extra) if c not in REQUIRED]


def checked_batches(
    part: Part, job: Job, seen: SeenIds | None, *, source: str
) -> Iterator[tuple[pl.DataFrame, list[FloatArray], pl.DataFrame, IndexArray | None]]:
    """Yield, per batch of a part: the good rows (``buildingId``, carried columns), one loss
    column per pair, the rejects, and the good rows' places in the batch (None: all rows).

    Rejected rows keep their original values, their row number ``__row`` and a
    ``reason``; an id seen in an earlier batch is rejected as a duplicate.
    """
    row = part.first_row
    wanted = [*REQUIRED, *job.carry]
    for batch in iter_part(part, batch_rows=job.batch_rows, columns=wanted):
        if row == part.first_row:
            names = None if set(wanted) <= set(batch.columns) else source_columns(part.path)
            check_columns(batch.schema, source, all_columns=names)
            check_carried(batch.columns, job.carry, source, all_columns=names)
        if len(job.pairs) == 1:
            (years, rate), model = job.pairs[0], job.model
            single = Model(
                model.formula, years, rate, model.engine, model.workers, model.chunk_size
            )
            valid, rejected = compute_batch(batch, single, row_offset=row, seen=seen)
            losses = [valid["loss"].to_numpy()]
        else:
            valid, losses, rejected = grid_batch(
                batch, job.model, job.pairs, row_offset=row, seen=seen
            )
        places = None if rejected.height == 0 else (valid[ROW].to_numpy() - row).astype(np.int64)
        row += batch.height
        yield valid.select(ID, *wanted[len(REQUIRED) :]), losses, rejected, places


class Accumulator:
    """Consumes checked batches: writes outputs and keeps the log, totals and groups."""

    def __init__(
        self,
        job: Job,
        *,
        out: Output | None = None,
        rejects: Output | None = None,
        preview_rows: int = 0,
        progress: Any = None,
    ) -> None:
        self.job = job
        self.out, self.rejects = out, rejects
        self.log = FailureLog()
        self.groups = GroupTotals(job.by, job.pairs) if job.by else None
        self.rows = 0
        self.preview_rows = preview_rows
        self.preview: list[pl.DataFrame] = []
        self.progress = progress or _Silent()
        self._rejects_written = False

    def run_part(self, part: Part, *, seen: SeenIds | None, source: str) -> list[TotalParts]:
        """Process one part; return its contribution to the total of each pair."""
        totals = [Total(offset=part.file_row) for _ in self.job.pairs]
        for rows, losses, rejected, places in checked_batches(part, self.job, seen, source=source):
            self.progress.update(rows.height + rejected.height)
            self.log.add(rejected)
            if self.log and self.job.on_invalid == "fail":
                continue  # keep reading: the error reports the whole source
            self._write(rows, losses, rejected)
            for total, loss in zip(totals, losses, strict=True):
                if places is not None:  # a rejected row stands as 0.0 in its place
                    full = np.zeros(rows.height + rejected.height)
                    full[places] = loss
                    loss = full
                total.add(loss)
        return [t.parts() for t in totals]

    def _write(self, rows: pl.DataFrame, losses: list[FloatArray], rejected: pl.DataFrame) -> None:
        job = self.job
        if self.groups is not None:
            self.groups.add(rows, losses)
        result = _long(rows.select(ID, *[c for c in job.keep if c != ID]), losses, job.pairs)
        if self.out is not None:
            self.out.write(result)
        if self.rejects is not None and (rejected.height or not self._rejects_written):
            self.rejects.write(rejected.rename({ROW: "row"}))
            self._rejects_written = True
        self.rows += rows.height
        if sum(f.height for f in self.preview) < self.preview_rows:
            self.preview.append(result.head(self.preview_rows))


def check_carried(
    present: Sequence[str], carry: Sequence[str], source: str, *, all_columns: Sequence[str] | None
) -> None:
    """Raise :class:`InputError` if a column asked for (``--keep``, ``--group-by``) is absent."""
    missing = [c for c in carry if c not in present]
    if missing:
        found = ", ".join(all_columns if all_columns is not None else present)
        msg = (
            f"{source}: no column {', '.join(missing)} to keep or group by; found {found}; "
            "hint: check the spelling"
        )
        raise InputError(msg)


def _long(
    ids: pl.DataFrame, losses: list[FloatArray], pairs: Sequence[tuple[int, float]]
) -> pl.DataFrame:
    """The output rows of a batch: ``buildingId, loss``, or one block per pair for a grid."""
    if len(pairs) == 1:
        return ids.with_columns(loss=pl.Series("loss", losses[0]))
    return pl.concat(
        [
            ids.with_columns(
                years=pl.lit(years, pl.Int64),
                discount_rate=pl.lit(rate, pl.Float64),
                loss=pl.Series("loss", loss),
            )
            for (years, rate), loss in zip(pairs, losses, strict=True)
        ]
    )


def _check_options(
    formula: str,
    pairs: list[tuple[int, float]],
    engine: str,
    chunk_size: int | None,
    batch_rows: int,
    on_invalid: str,
    rejects: str | Path | None,
) -> None:
    if not pairs:
        msg = "give at least one value for years and one for the discount rate"
        raise UsageError(msg)
    for years, rate in pairs:
        check_parameters(formula, years, rate)
    if engine not in ENGINES:
        msg = f"unknown engine {engine!r}; hint: choose one of {', '.join(ENGINES)}"
        raise UsageError(msg)
    if chunk_size is not None and chunk_size < 1:
        msg = f"chunk size must be >= 1, got {chunk_size}"
        raise UsageError(msg)
    if batch_rows < 1:
        msg = f"batch rows must be >= 1, got {batch_rows}"
        raise UsageError(msg)
    if on_invalid not in ("fail", "skip"):
        msg = f"on_invalid must be 'fail' or 'skip', got {on_invalid!r}"
        raise UsageError(msg)
    if on_invalid == "skip" and rejects is None:
        msg = "skip mode needs a rejects file; hint: add --rejects rejects.csv"
        raise UsageError(msg)


def _progress(source: str | Path, *, enabled: bool) -> Any:
    """A tqdm bar over rows on stderr, or a silent stand-in."""
    if not enabled:
        return contextlib.nullcontext(_Silent())
    from tqdm.auto import tqdm

    return tqdm(
        total=count_rows(source), unit=" rows", unit_scale=True, desc="vecloss", leave=False
    )


class _Silent:
    def update(self, n: int = 1) -> None: ...


def run(
    source: str | Path,
    output: str | Path | None = None,
    *,
    formula: Formula = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    engine: str = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_invalid: OnInvalid = "fail",
    rejects: str | Path | None = None,
    preview_rows: int = 0,
    progress: bool = False,
    keep: Sequence[str] = (),
    by: str | None = None,
) -> Summary:
    """Compute every building's loss from ``source``, streaming, and write ``output``.

    ``output`` (optional) gets ``buildingId`` and ``loss``, its format by suffix,
    written atomically. Lists for ``years`` and ``discount_rate`` evaluate every
    pair: the output is then the long table ``buildingId, years, discount_rate,
    loss`` and the summary has a total per pair. With ``on_invalid="fail"`` any
    bad row fails the run after the whole source has been checked (the error
    lists every problem) and nothing is written. With ``"skip"``, bad rows go to
    ``rejects`` with a ``reason``, and rows in = rows written + rows rejected.
    ``progress`` shows a bar on stderr (rows done, rows/s). ``keep`` carries
    input columns into the output; ``by`` adds totals, counts and mean loss per
    group of that input column to the summary (``groups``).
    """
    started = time.perf_counter()
    pairs = as_pairs(years, discount_rate)
    _check_options(formula, pairs, engine, chunk_size, batch_rows, on_invalid, rejects)
    for path in (output, rejects):
        if path is not None:
            format_of(path, output=True)

    name = str(source)
    model = Model(formula=formula, engine=engine, workers=workers, chunk_size=chunk_size)
    job = Job(model, tuple(pairs), batch_rows, tuple(keep), by, on_invalid)
    block_sums: list[list[float]] = [[] for _ in pairs]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(Output(output)) if output is not None else None
        rej = stack.enter_context(Output(rejects)) if rejects is not None else None
        bar = stack.enter_context(_progress(source, enabled=progress))
        acc = Accumulator(job, out=out, rejects=rej, preview_rows=preview_rows, progress=bar)
        seen = SeenIds()
        for part in plan_parts(source):
            for sums, parts in zip(
                block_sums, acc.run_part(part, seen=seen, source=name), strict=True
            ):
                sums.extend(file_block_sums([parts]))
        if acc.log and on_invalid == "fail":
            raise acc.log.error(name)
    totals = [math.fsum(sums) for sums in block_sums]
    groups, log, rows_out, preview = acc.groups, acc.log, acc.rows, acc.preview
    grid = len(pairs) > 1
    return Summary(
        input=name,
        output=None if output is None else str(output),
        rows=rows_out,
        rejected=log.rows,
        total_loss=None if grid else totals[0],
        formula=formula,
        years=years if isinstance(years, int) else list(years),
        discount_rate=discount_rate
        if isinstance(discount_rate, float | int)
        else list(discount_rate),
        engine=engine,
        seconds=round(time.perf_counter() - started, 6),
        rejects=None if rejects is None else str(rejects),
        totals=[
            {"years": t, "discount_rate": d, "total_loss": total}
            for (t, d), total in zip(pairs, totals, strict=True)
        ],
        output_rows=rows_out * len(pairs),
        groups=[] if groups is None else groups.frame().to_dicts(),
        preview=pl.concat(preview).head(preview_rows) if preview else None,
    )
