"""The runner: open the source, plan its parts, hand them to an executor, combine the results.

::

    source (opened once) --parts--> executor (in-process | Dask) --each part--> worker
        --part results--> combine: rows, rejected, totals per pair, groups, preview
    sinks (output, rejects): staged while the run works, published whole on success

Every parameter is checked (:meth:`Scenario.parse`, :func:`check_options`) and
the source and sinks opened before any batch is read or any file is made.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from vecloss.checks.ids import DeferredIds, SeenIds
from vecloss.checks.log import FailureLog
from vecloss.exceptions import UsageError, warn_percent_like
from vecloss.io.database import is_database_uri, safe_uri, same_table
from vecloss.io.sink import Sink, check_targets, open_sink
from vecloss.io.source import Part, Source, frame_source, open_source
from vecloss.kernels import Kernel
from vecloss.kernels.blocks import use_jit
from vecloss.names import ENGINES, Engine
from vecloss.options import OnInvalid, check_options, group_columns, whole
from vecloss.progress import progress_bar
from vecloss.run.executors import Dask, Executor, InProcess, Work, part_rows_for
from vecloss.run.groups import GroupTotals
from vecloss.run.summary import Summary
from vecloss.run.total import SUM_BLOCK, file_block_sums
from vecloss.run.worker import (
    DEFAULT_BATCH_ROWS,
    Job,
    PartResult,
    checked_batches,
    largest,
    process_part,
    with_shared_ids,
)
from vecloss.scenario import FormulaArg, Rates, Scenario, Years

__all__ = ["ENGINES", "Engine", "OnInvalid", "check_options", "execute", "run", "whole"]


def run(
    source: str | Path | Any,
    output: str | Path | None = None,
    *,
    formula: FormulaArg = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    engine: Engine = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
    batch_rows: int | None = None,
    on_invalid: OnInvalid = "fail",
    rejects: str | Path | None = None,
    preview_rows: int = 0,
    top: int = 0,
    progress: bool = False,
    keep: Sequence[str] = (),
    by: str | Sequence[str] | None = None,
    scheduler: Any = None,
    table: str | None = None,
    query: str | None = None,
    output_table: str | None = None,
) -> Summary:
    """Compute every building's loss from ``source``, streaming, and write ``output``.

    ``source`` is a file, a folder or glob of Parquet files, a database URI, or
    a frame in memory (Polars, pyarrow, pandas), streamed the same way in
    slices of ``batch_rows``: ``vecloss.run(frame, years=[...], discount_rate=[...])``
    then ``.matrix`` gives a grid's totals without its long table.

    ``output`` (optional) gets ``buildingId`` and ``loss``, its format by suffix,
    written atomically. A sequence for ``years`` or ``discount_rate`` is a grid:
    every pair is evaluated, the output is the long table ``buildingId, years,
    discount_rate, loss`` and the summary has a total per pair (``totals``, and
    as years x discount rate: ``matrix``).

    ``batch_rows`` rows are read and computed at a time (default 500,000,
    divided by the number of pairs for a grid, at least 65,536): it bounds
    memory and never changes a result. With ``on_invalid="fail"`` any bad row
    fails the run after the whole source has been checked (the error lists
    every problem) and nothing is written. With ``"skip"``, bad rows go to
    ``rejects`` with a ``reason``, and rows in = rows written + rows rejected;
    without a ``rejects`` file the summary holds them (``rejected_rows``).
    ``top`` keeps the ``top`` largest losses (``Summary.top``). ``progress``
    shows a bar on stderr. ``keep`` carries input columns into the output;
    ``by`` (an input column, or a list of them) adds totals, counts and mean loss
    per group to the summary (``groups``).

    ``engine`` is a kernel (``vectorized``, or a baseline ``loop``, ``threads``,
    ``processes``), or ``dask``: the vectorized kernel with the parts of the
    source (files, runs of Parquet row groups) mapped over a Dask cluster
    (``scheduler``: an address or a Client; by default a local cluster of
    ``workers`` single-threaded processes). An output ending in ``/`` (or an
    existing folder) is written as a folder of Parquet part files.

    A database source (``sqlite:///portfolio.db``, ``postgresql://...``) is read
    from ``table`` or ``query``; a database ``output`` gets ``output_table``,
    replaced in one transaction.
    """
    started = time.perf_counter()
    scenario = Scenario.parse(formula, years, discount_rate)
    check_options(
        engine=engine,
        workers=workers,
        chunk_size=chunk_size,
        batch_rows=batch_rows,
        on_invalid=on_invalid,
        keep=keep,
        by=by,
    )
    workers, chunk_size = whole(workers, "workers"), whole(chunk_size, "chunk size")
    batch_rows = whole(batch_rows, "batch rows")
    in_memory = not isinstance(source, str | Path)
    if in_memory:
        from vecloss.frames import to_polars

        src = frame_source(to_polars(source, "run()").polars)
    else:
        src = open_source(source, table=table, query=query)
    check_targets(src.files, output, rejects)
    if (
        src.query is not None
        and is_database_uri(output)
        and output_table is not None
        and same_table(src.files[0], src.query, str(output), output_table)
    ):
        msg = (
            f"{safe_uri(str(output))} table {output_table}: the output table is the input; "
            "hint: write another table"
        )
        raise UsageError(msg)
    out = open_sink(output, table=output_table) if output is not None else None
    rej = open_sink(rejects) if rejects is not None else None
    executor: Executor = Dask(workers, scheduler) if engine == "dask" else InProcess()
    if executor.staged and out is not None and not out.stages:
        msg = "the dask engine writes files; hint: write to .parquet, or run without dask"
        raise UsageError(msg)
    name = "vectorized" if engine == "dask" else engine
    kernel = Kernel(name, workers, chunk_size, jit=name == "vectorized" and use_jit(src.rows))
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 0:
        msg = f"top must be a whole number >= 0, got {top!r}"
        raise UsageError(msg)
    top = int(top)
    hold = on_invalid == "skip" and rejects is None
    if batch_rows is None:  # a grid keeps one loss column per pair: fewer rows at a time
        batch_rows = max(SUM_BLOCK, DEFAULT_BATCH_ROWS // len(scenario.pairs))
    job = Job(
        scenario,
        kernel,
        src.name,
        batch_rows,
        tuple(keep),
        group_columns(by),
        on_invalid,
        preview_rows,
        top,
        hold,
        strings=not in_memory,
    )
    results = execute(
        src, job, executor, partial(process_part, job=job), out, rej, progress=progress
    )
    totals = [math.fsum(sums) for sums in _block_sums(results, len(scenario.pairs))]
    groups = GroupTotals(job.by, scenario.pairs) if job.by else None
    for result in results:
        if groups is not None and result.groups is not None:
            groups.merge(result.groups)
    previews = [r.preview for r in results if r.preview is not None]
    rows = sum(r.rows for r in results)
    largest_rows = None
    for result in results:
        if result.top is not None:
            largest_rows = largest(largest_rows, result.top, top)
    held = [r.rejected_rows for r in results if r.rejected_rows is not None]
    warn_percent_like(sum(r.percent_like for r in results), src.name)
    return Summary(
        input=src.name,
        output=None if out is None else out.target,
        rows=rows,
        rejected=sum(r.log.rows for r in results),
        total_loss=None if scenario.grid else totals[0],
        **scenario.describe(),
        engine=engine,
        seconds=round(time.perf_counter() - started, 6),
        rejects=None if rejects is None else str(rejects),
        totals=pl.DataFrame(
            {
                "years": [t for t, _ in scenario.pairs],
                "discount_rate": [d for _, d in scenario.pairs],
                "total_loss": totals,
            },
            schema={"years": pl.Int64, "discount_rate": pl.Float64, "total_loss": pl.Float64},
        ),
        output_rows=rows * len(scenario.pairs),
        groups=pl.DataFrame() if groups is None else groups.frame(),
        preview=pl.concat(previews).head(preview_rows) if previews else None,
        top=largest_rows,
        rejected_rows=pl.concat(held, how="diagonal_relaxed") if held else None,
    )


def execute(
    src: Source,
    job: Job,
    executor: Executor,
    work: Work,
    out: Sink | None,
    rej: Sink | None,
    *,
    progress: bool,
) -> list[Any]:
    """Run ``work`` on every part; publish the sinks if the run holds, else discard them and raise.

    ``work(part, out=..., rejects=..., seen=..., progress=...)`` returns a result
    with ``rows``, ``log``, ``part``, ``ids``, ``output`` and ``rejects``.
    """
    part_rows = part_rows_for(src.rows, executor.cores) if isinstance(executor, Dask) else None
    sinks = [s for s in (out, rej) if s is not None]
    staged = executor.staged
    parts = src.parts(part_rows=part_rows)
    if staged:  # parts read elsewhere (a remote worker's own working folder): absolute paths
        parts = [
            p if p.query is not None or p.frame is not None else replace(p, path=_absolute(p.path))
            for p in parts
        ]
        parts = with_shared_ids(parts, job.batch_rows)  # each part checked apart, exactly
    try:
        calls = [
            partial(
                work,
                part,
                out=out.part(index, staged=staged) if out else None,
                rejects=rej.part(index, staged=staged) if rej else None,
            )
            for index, part in enumerate(parts)
        ]
        with progress_bar(
            total=src.rows if progress else None,
            desc="vecloss",
            unit=" rows",
            unit_scale=True,
            enabled=progress,
        ) as bar:
            deferred = None
            if (
                isinstance(executor, InProcess)
                and executor.seen is None
                and job.on_invalid == "fail"
            ):
                # any repeat fails the run: the ids are checked once, at the end
                deferred = DeferredIds(rows=src.rows)
            results = (executor if deferred is None else InProcess(seen=deferred)).map(calls, bar)
        if deferred is not None and deferred.repeated():
            log = exact_log(parts, job)  # every repeat named (none: a hash collision)
        else:
            log = FailureLog(numeric=job.scenario.spec.numeric)
            for result in results:
                log.merge(result.log)
        if log and job.on_invalid == "fail":
            raise log.error(src.name)  # noqa: TRY301
        pending = {
            out: [r.output for r in results if r.output is not None],
            rej: [r.rejects for r in results if r.rejects is not None],
        }
        for sink, paths in pending.items():  # every file finished, then all published
            if sink is not None:
                sink.finish(paths)
        for sink in pending:
            if sink is not None:
                sink.publish()
    except BaseException:
        for sink in sinks:
            sink.discard()
        raise
    return results


def exact_log(parts: Sequence[Part], job: Job) -> FailureLog:
    """Every part's batches checked again in order, ids looked up batch by batch: the failures
    of a run in fail mode whose one check at the end found a repeated key. (Only the log is
    made: in fail mode a repeat fails the run, and a hash collision that is no repeat leaves
    the first pass's results as they are.)"""
    log, seen = FailureLog(numeric=job.scenario.spec.numeric), SeenIds()
    for part in parts:
        for batch, _ in checked_batches(part, job, seen):
            log.add(batch.rejected)
    return log


def _absolute(path: str) -> str:
    return str(Path(path).absolute())


def _block_sums(results: Sequence[PartResult], pairs: int) -> list[list[float]]:
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
