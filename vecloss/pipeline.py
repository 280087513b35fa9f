"""read -> validate -> compute -> write, batch by batch, with the summary and the totals."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from vecloss.compute import Model, as_pairs, compute_batch, grid_batch
from vecloss.engines import ENGINES
from vecloss.exceptions import InputError, UsageError, ValidationError
from vecloss.formulas import FloatArray, Formula, check_parameters
from vecloss.groups import GroupTotals
from vecloss.io.database import DatabaseOutput, is_database_uri, table_query
from vecloss.io.parts import discard, is_folder_output, publish, staging_folder
from vecloss.io.sources import (
    Output,
    Part,
    count_rows,
    format_of,
    iter_part,
    plan_parts,
    source_columns,
)
from vecloss.progress import progress_bar
from vecloss.schema import ID, REQUIRED
from vecloss.total import Total, TotalParts, file_block_sums
from vecloss.validate import ROW, FailureLog, SeenIds, check_columns, reject_rows

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
DEFAULT_BATCH_ROWS = 500_000

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
            names = (
                None if set(wanted) <= set(batch.columns) else source_columns(part.path, part.query)
            )
            check_columns(batch.schema, source, all_columns=names)
            check_carried(batch.columns, job.carry, source, all_columns=names)
        if len(job.pairs) == 1:
            (years, rate), model = job.pairs[0], job.model
            single = replace(model, years=years, discount_rate=rate)
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
        ids: _IdRange | None = None,
    ) -> None:
        self.job = job
        self.out, self.rejects = out, rejects
        self.log = FailureLog()
        self.groups = GroupTotals(job.by, job.pairs) if job.by else None
        self.rows = 0
        self.preview_rows = preview_rows
        self.preview: list[pl.DataFrame] = []
        self.progress = progress or progress_bar(total=None, desc="", unit="", enabled=False)
        self._rejects_written = False
        self._empty_rejects: pl.DataFrame | None = None
        self._ids = ids

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

    def finish(self) -> None:
        """Give a rejects file with no rows its header (the columns rejects would have)."""
        if (
            self.rejects is not None
            and not self._rejects_written
            and self._empty_rejects is not None
        ):
            self.rejects.write(self._empty_rejects.rename({ROW: "row"}))

    def _write(self, rows: pl.DataFrame, losses: list[FloatArray], rejected: pl.DataFrame) -> None:
        job = self.job
        if self.groups is not None:
            self.groups.add(rows, losses)
        if self._ids is not None:
            self._ids.add(rows[ID])
        result = _long(rows.select(ID, *[c for c in job.keep if c != ID]), losses, job.pairs)
        if self.out is not None:
            self.out.write(result)
        if self.rejects is not None and rejected.height:
            self.rejects.write(rejected.rename({ROW: "row"}))
            self._rejects_written = True
        elif self._empty_rejects is None:
            self._empty_rejects = rejected
        self.rows += rows.height
        if sum(f.height for f in self.preview) < self.preview_rows:
            self.preview.append(result.head(self.preview_rows))


@dataclass
class PartResult:
    """What processing one part gives back: small, picklable, combinable."""

    part: Part
    rows: int
    log: FailureLog
    totals: list[TotalParts]
    groups: GroupTotals | None
    output: Path | None
    rejects: Path | None
    ids: tuple[Any, Any, bool] | None  # (first, last, strictly increasing) of written ids


def process_part(
    part: Part,
    job: Job,
    *,
    staging: Path | None,
    index: int,
    want_output: bool,
    want_rejects: bool,
    source: str,
    seen: SeenIds | None = None,
) -> PartResult:
    """Stream one part with the same code as a whole run, into its own part files.

    Used by the folder output and by the Dask engine, where each worker runs it.
    """
    with contextlib.ExitStack() as stack:
        out_path = rej_path = None
        if staging is not None and want_output:
            out_path = staging / f"out-{index:05d}.parquet"
        if staging is not None and want_rejects:
            rej_path = staging / f"rejects-{index:05d}.parquet"
        out = stack.enter_context(Output(out_path)) if out_path else None
        rej = stack.enter_context(Output(rej_path)) if rej_path else None
        tracker = _IdRange()
        acc = Accumulator(job, out=out, rejects=rej, ids=tracker)
        totals = acc.run_part(part, seen=seen if seen is not None else SeenIds(), source=source)
        acc.finish()
    return PartResult(part, acc.rows, acc.log, totals, acc.groups, out_path, rej_path, tracker.span)


class _IdRange:
    """The first and last id written by a part, and whether they came in increasing order."""

    def __init__(self) -> None:
        self.span: tuple[Any, Any, bool] | None = None

    def add(self, ids: pl.Series) -> None:
        if ids.len() == 0:
            return
        increasing = bool(ids.is_sorted()) and ids.n_unique() == ids.len()
        first, last = ids[0], ids[-1]
        if self.span is None:
            self.span = (first, last, increasing)
        else:
            self.span = (self.span[0], last, self.span[2] and increasing and first > self.span[1])


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
    """A bar over rows on stderr (rows done, rows/s), or a silent stand-in."""
    total = count_rows(source) if enabled else None
    return progress_bar(total=total, desc="vecloss", unit=" rows", unit_scale=True, enabled=enabled)


Outcome = tuple[FailureLog, int, list[list[float]], GroupTotals | None]


def _run_one_pass(
    source: str | Path,
    output: str | Path | None,
    rejects: str | Path | None,
    job: Job,
    *,
    preview_rows: int,
    progress: bool,
    query: str | None = None,
    output_table: str | None = None,
) -> tuple[FailureLog, int, list[list[float]], GroupTotals | None, list[pl.DataFrame]]:
    """Stream every part in order through one process, into one output file (or table)."""
    name = str(source)
    block_sums: list[list[float]] = [[] for _ in job.pairs]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open_output(output, output_table)) if output is not None else None
        rej = stack.enter_context(Output(rejects)) if rejects is not None else None
        bar = stack.enter_context(_progress(source, enabled=progress))
        acc = Accumulator(job, out=out, rejects=rej, preview_rows=preview_rows, progress=bar)
        seen = SeenIds()
        for part in plan_parts(source, query=query):
            contributions = acc.run_part(part, seen=seen, source=name)
            for sums, piece in zip(block_sums, contributions, strict=True):
                sums.extend(file_block_sums([piece]))
        acc.finish()
        if acc.log and job.on_invalid == "fail":
            raise acc.log.error(name)
    return acc.log, acc.rows, block_sums, acc.groups, acc.preview


def _run_in_parts(
    source: str | Path,
    output: str | Path | None,
    rejects: str | Path | None,
    job: Job,
    *,
    workers: int | None,
    scheduler: Any,
    progress: bool,
    query: str | None = None,
) -> Outcome:
    """Process the parts separately (on Dask workers, or in turn for a folder output),
    each into its own part files, then combine the results and publish the outputs."""
    name = str(source)
    staging = staging_folder(output or rejects) if (output or rejects) else None
    want = {"want_output": output is not None, "want_rejects": rejects is not None}
    try:
        with _progress(source, enabled=progress) as bar:
            if job.model.engine == "dask":
                from vecloss.engines.dask import map_parts, part_rows_for

                cores = workers or os.cpu_count() or 1
                rows = count_rows(source)
                parts = plan_parts(source, part_rows=part_rows_for(rows, cores), query=query)
                results = map_parts(
                    parts,
                    job,
                    staging=staging,
                    source=name,
                    workers=workers,
                    scheduler=scheduler,
                    progress=bar,
                    **want,
                )
            else:
                seen = SeenIds()
                results = [
                    process_part(
                        part, job, staging=staging, index=index, source=name, seen=seen, **want
                    )
                    for index, part in enumerate(plan_parts(source, query=query))
                ]
                for result in results:
                    bar.update(result.rows + result.log.rows)
        log = FailureLog()
        for result in results:
            log.merge(result.log)
        if job.model.engine == "dask":
            log.merge(_repeats_across_parts(results, job, name))
        if log and (job.on_invalid == "fail" or "duplicate_id" in {k[1] for k in log.counts}):
            if job.on_invalid == "skip":
                msg = (
                    f"{name}: ids repeat across parts, which the dask engine cannot set aside; "
                    "hint: run with the default engine, which rejects the later rows"
                )
                raise ValidationError(msg, log.frame())
            raise log.error(name)
        if output is not None:
            publish([r.output for r in results if r.output is not None], output)
        if rejects is not None:
            publish([r.rejects for r in results if r.rejects is not None], rejects)
    finally:
        if staging is not None:
            discard(staging)
    groups = GroupTotals(job.by, job.pairs) if job.by else None
    for result in results:
        if groups is not None and result.groups is not None:
            groups.merge(result.groups)
    return log, sum(r.rows for r in results), _joined_block_sums(results, len(job.pairs)), groups


def _joined_block_sums(results: Sequence[PartResult], pairs: int) -> list[list[float]]:
    """Every block sum of every file, the parts of a file joined at their seams."""
    by_file: dict[str, list[PartResult]] = {}
    for result in results:
        by_file.setdefault(result.part.path, []).append(result)
    sums: list[list[float]] = [[] for _ in range(pairs)]
    for parts in by_file.values():
        parts.sort(key=lambda r: r.part.file_row)
        for k in range(pairs):
            sums[k].extend(file_block_sums([r.totals[k] for r in parts]))
    return sums


def _repeats_across_parts(results: Sequence[PartResult], job: Job, source: str) -> FailureLog:
    """Ids repeated between parts (each part only sees its own): a second pass over the
    id column, skipped when each part's ids increase and the parts follow each other."""
    spans = [r.ids for r in results if r.ids is not None]
    ordered = all(span[2] for span in spans) and all(
        later[0] > earlier[1] for earlier, later in itertools.pairwise(spans)
    )
    log = FailureLog()
    if ordered:
        return log
    seen = SeenIds()
    for result in results:
        for batch in iter_part(result.part, batch_rows=job.batch_rows, columns=[ID]):
            indexed = batch.with_row_index(ROW, offset=result.part.first_row)
            ids = indexed.filter(pl.col(ID).is_not_null())
            repeats = seen.add(ids[ID].unique(maintain_order=True))
            if repeats.any():
                again = ids[ID].unique(maintain_order=True).filter(repeats)
                log.add(reject_rows(ids, ids[ID].is_in(again.implode()), ID, "duplicate_id"))
    return log


def source_query(source: str | Path, table: str | None, query: str | None) -> str | None:
    """The query that reads a database source; None for files."""
    if not is_database_uri(source):
        if table is not None or query is not None:
            msg = "--table and --query go with a database source (sqlite:///..., postgresql://...)"
            raise UsageError(msg)
        return None
    if (table is None) == (query is None):
        msg = f"{source}: name a table or a query (one of them); hint: --table NAME or --query SQL"
        raise UsageError(msg)
    return query if query is not None else table_query(table)  # type: ignore[arg-type]


def _check_output_table(output: str | Path | None, output_table: str | None) -> None:
    if output is not None and is_database_uri(output):
        if output_table is None:
            msg = f"{output}: name the table to write; hint: add --output-table NAME"
            raise UsageError(msg)
        table_query(output_table)
    elif output_table is not None:
        msg = "--output-table goes with a database output (sqlite:///..., postgresql://...)"
        raise UsageError(msg)


def open_output(target: str | Path, table: str | None = None) -> Any:
    """A file output, or a database table replaced in one transaction."""
    if is_database_uri(target):
        assert table is not None
        return DatabaseOutput(str(target), table)
    return Output(target)


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
    scheduler: Any = None,
    table: str | None = None,
    query: str | None = None,
    output_table: str | None = None,
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

    ``engine="dask"`` maps the parts of a Parquet source (files, runs of row
    groups) over a Dask cluster: ``scheduler`` is an address or a Client, and
    by default a LocalCluster of ``workers`` single-threaded processes is
    started and closed. The total is the same bits as a local run's. An output
    ending in ``/`` (or an existing folder) is written as a folder of Parquet
    part files, by every engine.

    A database source (``sqlite:///portfolio.db``, ``postgresql://...``) is read
    from ``table`` or ``query`` as a record-batch stream; a database ``output``
    gets ``output_table``, replaced in one transaction.
    """
    started = time.perf_counter()
    pairs = as_pairs(years, discount_rate)
    _check_options(formula, pairs, engine, chunk_size, batch_rows, on_invalid, rejects)
    query = source_query(source, table, query)
    _check_output_table(output, output_table)
    for path in (output, rejects):
        if path is not None and not is_folder_output(path) and not is_database_uri(path):
            format_of(path, output=True)

    name = str(source)
    model = Model(formula=formula, engine=engine, workers=workers, chunk_size=chunk_size)
    job = Job(model, tuple(pairs), batch_rows, tuple(keep), by, on_invalid)
    block_sums: list[list[float]] = [[] for _ in pairs]
    preview: list[pl.DataFrame] = []
    if engine == "dask" or is_folder_output(output):
        if output is not None and is_database_uri(output):
            msg = "the dask engine and folder outputs write files; hint: write to .parquet"
            raise UsageError(msg)
        log, rows_out, block_sums, groups = _run_in_parts(
            source,
            output,
            rejects,
            job,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            query=query,
        )
    else:
        log, rows_out, block_sums, groups, preview = _run_one_pass(
            source,
            output,
            rejects,
            job,
            preview_rows=preview_rows,
            progress=progress,
            query=query,
            output_table=output_table,
        )
    totals = [math.fsum(sums) for sums in block_sums]
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
