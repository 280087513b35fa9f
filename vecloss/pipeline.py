"""read -> validate -> compute -> write, batch by batch, with the summary and the total."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from vecloss.compute import Model, compute_batch
from vecloss.engines import ENGINES
from vecloss.exceptions import UsageError
from vecloss.formulas import Formula, check_parameters
from vecloss.io.sources import Output, count_rows, format_of, iter_batches, source_columns
from vecloss.schema import ID, REQUIRED
from vecloss.total import Total
from vecloss.validate import ROW, FailureLog, SeenIds, check_columns

__all__ = ["DEFAULT_BATCH_ROWS", "OnInvalid", "Summary", "checked_batches", "run"]

OnInvalid = Literal["fail", "skip"]
DEFAULT_BATCH_ROWS = 1_000_000


@dataclass
class Summary:
    """What a run did: the numbers ``--json`` prints."""

    input: str
    output: str | None
    rows: int
    rejected: int
    total_loss: float
    formula: str
    years: int
    discount_rate: float
    engine: str
    seconds: float
    rejects: str | None = None
    preview: pl.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values (without the preview)."""
        data = asdict(self)
        data.pop("preview")
        return data


def checked_batches(
    source: str | Path,
    *,
    formula: str,
    years: int,
    discount_rate: float,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    engine: str = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Yield, per batch, (``buildingId``/``loss`` of the good rows, the rejected rows).

    Rejected rows keep their original values, their row number ``__row`` and a
    ``reason``; a loss that overflows rejects its row.
    """
    model = Model(formula, years, discount_rate, engine, workers, chunk_size)
    rows_in = 0
    seen = SeenIds()
    for batch in iter_batches(source, batch_rows=batch_rows, columns=REQUIRED):
        if rows_in == 0:
            names = None if set(REQUIRED) <= set(batch.columns) else source_columns(source)
            check_columns(batch.schema, str(source), all_columns=names)
        valid, rejected = compute_batch(batch, model, row_offset=rows_in + 1, seen=seen)
        rows_in += batch.height
        yield valid.select(ID, "loss"), rejected


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
    years: int = 10,
    discount_rate: float = 0.05,
    engine: str = "vectorized",
    workers: int | None = None,
    chunk_size: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_invalid: OnInvalid = "fail",
    rejects: str | Path | None = None,
    preview_rows: int = 0,
    progress: bool = False,
) -> Summary:
    """Compute every building's loss from ``source``, streaming, and write ``output``.

    ``output`` (optional) gets ``buildingId`` and ``loss``, its format by suffix,
    written atomically. With ``on_invalid="fail"`` any bad row fails the run
    after the whole source has been checked (the error lists every problem) and
    nothing is written. With ``"skip"``, bad rows go to ``rejects`` with a
    ``reason``, and rows in = rows written + rows rejected. ``progress`` shows
    a bar on stderr (rows done, rows/s).
    """
    started = time.perf_counter()
    check_parameters(formula, years, discount_rate)
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
    for path in (output, rejects):
        if path is not None:
            format_of(path, output=True)

    name = str(source)
    log = FailureLog()
    total = Total()
    rows_out = 0
    rejects_written = False
    preview: list[pl.DataFrame] = []
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(Output(output)) if output is not None else None
        rej = stack.enter_context(Output(rejects)) if rejects is not None else None
        batches = checked_batches(
            source,
            formula=formula,
            years=years,
            discount_rate=discount_rate,
            batch_rows=batch_rows,
            engine=engine,
            workers=workers,
            chunk_size=chunk_size,
        )
        bar = stack.enter_context(_progress(source, enabled=progress))
        for result, rejected in batches:
            bar.update(result.height + rejected.height)
            log.add(rejected)
            if log and on_invalid == "fail":
                continue  # keep reading: the error reports the whole source
            if out is not None:
                out.write(result)
            if rej is not None and (rejected.height or not rejects_written):
                rej.write(rejected.rename({ROW: "row"}))
                rejects_written = True
            total.add(result["loss"].to_numpy())
            rows_out += result.height
            if sum(f.height for f in preview) < preview_rows:
                preview.append(result.head(preview_rows))
        if log and on_invalid == "fail":
            raise log.error(name)
    return Summary(
        input=name,
        output=None if output is None else str(output),
        rows=rows_out,
        rejected=log.rows,
        total_loss=total.value,
        formula=formula,
        years=years,
        discount_rate=discount_rate,
        engine=engine,
        seconds=round(time.perf_counter() - started, 6),
        rejects=None if rejects is None else str(rejects),
        preview=pl.concat(preview).head(preview_rows) if preview else None,
    )
