"""The in-memory API: read a validated portfolio, add its loss column to a frame."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import polars as pl

from vecloss.checks.columns import check_columns
from vecloss.checks.ids import SeenIds, later_duplicates
from vecloss.checks.log import FailureLog
from vecloss.checks.rules import ROW, column_ok, split_valid
from vecloss.chunks import pieces
from vecloss.display import counted
from vecloss.exceptions import UsageError, warn, warn_percent_like
from vecloss.frames import Frame, to_polars
from vecloss.io.source import frame_source, open_source, read_files
from vecloss.kernels import KERNELS, Kernel
from vecloss.kernels.blocks import use_jit
from vecloss.options import check_keep, check_on_invalid, group_columns
from vecloss.progress import progress_bar
from vecloss.run.batch import (
    Batch,
    as_floats,
    check_batch,
    clean_losses,
    fast_path_applies,
    loss_table,
)
from vecloss.run.groups import GroupTotals
from vecloss.run.worker import Job, above_one, checked_batches
from vecloss.scenario import FormulaArg, Rates, Scenario, Years
from vecloss.schema import ID, NUMERIC

__all__ = ["Frame", "losses", "read", "to_polars", "validated", "warn_percentages"]

FrameT = TypeVar("FrameT")


def _numbers_ok(frame: pl.DataFrame) -> bool:
    """:func:`column_ok` over each Float64 column of a frame: over NumPy views of its chunks
    when it has a few (no copy), else over one copy (cheaper than a step per small chunk)."""
    return all(
        column_ok(c.name, part.to_numpy()) for c in NUMERIC for part in pieces(frame[c.name])
    )


def validated(
    frame: pl.DataFrame, source: str = "portfolio", on_invalid: str = "fail"
) -> pl.DataFrame:
    """``frame`` with its numeric columns as Float64; raise if any row breaks the schema.

    A clean frame of numbers without nulls is checked with NumPy reductions (the
    fused kernel's twin); anything else, or any failure, by the Polars rules,
    which name every failing row.
    """
    check_columns(frame.schema, source)
    if fast_path_applies(frame, Kernel()):
        floats = as_floats(frame)
        if _numbers_ok(floats) and later_duplicates(frame.get_column(ID)) is None:
            return floats
    checked = split_valid(frame)
    if checked.rejected.height:
        log = FailureLog()
        log.add(checked.rejected)
        _set_aside(log, source, on_invalid)
    return checked.valid.drop(ROW)


def read(source: str | Path, *, on_invalid: str = "fail") -> pl.DataFrame:
    """Read a portfolio file into a validated Polars DataFrame.

    The format follows the suffix (``.json``, ``.ndjson``/``.jsonl``, ``.csv``,
    ``.parquet``, ``.arrow``/``.ipc``/``.feather``). ``buildingId`` keeps its
    type; the numeric columns become Float64; extra columns are kept. A row that
    breaks the schema raises :class:`~vecloss.ValidationError` listing every problem
    (``on_invalid="fail"``), or is left out with a warning giving the count (``"skip"``;
    :func:`vecloss.validate` returns those rows with their reasons), as in
    :func:`vecloss.losses`.
    """
    check_on_invalid(on_invalid)
    src = open_source(source)
    if src.is_database:
        msg = f"{src.name}: read() takes files; hint: vecloss.run(uri, table=...) streams a table"
        raise UsageError(msg)
    frames = read_files(src)
    return validated(frames[0] if len(frames) == 1 else pl.concat(frames), src.name, on_invalid)


def _set_aside(log: FailureLog, source: str, on_invalid: str) -> None:
    """Fail with every problem, or warn with the count set aside (skip mode)."""
    if not log:
        return
    if on_invalid == "fail":
        raise log.error(source)
    warn(
        f"{source}: {counted(log.rows, 'row')} set aside (on_invalid='skip'); "
        "hint: vecloss.validate(data) returns them with their reasons"
    )


def warn_percentages(inflation: pl.Series, source: str) -> None:
    """Warn when inflation rates look like percentages (above 1: over 100 % a year)."""
    warn_percent_like(above_one(inflation), source)


_SLICE = 1_000_000  # rows per progress step


def _checked_frame(
    frame: pl.DataFrame,
    scenario: Scenario,
    kernel: Kernel,
    *,
    by: tuple[str, ...],
    progress: bool,
) -> Batch:
    """The frame checked and computed in one pass, or, with a progress bar, as a one-part
    source in slices (the worker's own checked batches: ids compared across slices)."""
    if not progress:
        return check_batch(frame, scenario, kernel, strings=False)
    job = Job(scenario, kernel, batch_rows=_SLICE, by=by, strings=False)
    (part,) = frame_source(frame).parts()
    done = []
    with progress_bar(
        total=frame.height, desc="vecloss", unit=" rows", unit_scale=True, enabled=True
    ) as bar:
        for batch, _ in checked_batches(part, job, SeenIds()):
            done.append(batch)
            bar.update(batch.valid.height + batch.rejected.height)
    if len(done) == 1:
        return done[0]
    return Batch(
        pl.concat([b.valid for b in done]),
        [np.concatenate(column) for column in zip(*(b.losses for b in done), strict=True)],
        pl.concat([b.rejected for b in done], how="diagonal_relaxed"),
    )


def losses(
    data: FrameT,
    *,
    formula: FormulaArg = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    engine: str = "vectorized",
    by: str | Sequence[str] | None = None,
    keep: Sequence[str] = (),
    on_invalid: str = "fail",
    progress: bool = False,
) -> FrameT:
    """Return ``data`` plus a float64 ``loss`` column, in the same kind of frame.

    ``data`` is a Polars DataFrame, a pyarrow Table or RecordBatch, or a pandas
    DataFrame (``buildingId`` may be its named index) with the schema's
    columns; it is validated first and never modified. What comes back is the
    same kind of frame with the same column types (and, for pandas, the same
    index). Numeric columns must hold numbers: a column of strings is refused
    (``not_numeric``), as text is only parsed when reading text files. A loss
    that overflows is an error, never an inf in the result. ``engine`` picks the
    kernel (``vectorized``, or a baseline: ``loop``, ``threads``,
    ``processes``); every kernel agrees with the scalar reference to 1e-12.

    With ``on_invalid="skip"`` bad rows are left out of the result, with a
    warning giving their count (:func:`vecloss.validate` returns them, with
    reasons); with ``"fail"`` (the default) any bad row raises
    :class:`~vecloss.ValidationError`, listing every problem.

    A sequence for ``years`` or ``discount_rate`` (a list, tuple, range or
    array, even of one value) is a grid: every pair is evaluated and the result
    is the long table ``buildingId, <keep...>, years, discount_rate, loss`` (pairs
    years-major, buildings in input order within each pair): ``keep`` names the input
    columns carried into it (say ``keep=["region"]``, to group it afterwards).

    With ``by`` (an input column, or a list of them), the result is instead one row per
    group (and pair): ``years, discount_rate, <by...>, buildings, total_loss, mean_loss``.

    ``progress=True`` shows a bar on stderr while the frame is computed in
    slices (the same numbers as in one pass).

    Notes
    -----
    complex: ``loss = C * exp(i * A / 1000) * p / (1 + d)**T``;
    simple: ``loss = C * (1 + i)**T * p / (1 + d)**T``. ``C`` is the building's
    construction cost (currency, the whole building), ``A`` its floor area (m2,
    only in the complex formula's growth term), ``p`` the annual hazard
    probability, ``i`` the annual inflation rate and ``d`` the annual discount
    rate (fractions: 0.05 is 5 %), ``T`` the horizon in years. In the complex
    formula the horizon enters only through the discount.
    """
    scenario = Scenario.parse(formula, years, discount_rate)
    if engine not in KERNELS:
        hint = (
            "dask runs parts of a file: vecloss.run(path, engine='dask')"
            if engine == "dask"
            else f"choose one of {', '.join(KERNELS)}"
        )
        msg = f"losses() has no engine {engine!r}; hint: {hint}"
        raise UsageError(msg)
    groups = group_columns(by)
    check_keep(keep)
    check_on_invalid(on_invalid)
    source = "portfolio"
    given = to_polars(data)
    frame = given.polars
    numeric = scenario.spec.numeric
    # (names and types as a dict: Polars builds its Schema object anew at each call, ~4 us)
    schema = dict(zip(frame.columns, frame.dtypes, strict=True))
    check_columns(schema, source, carry=[*groups, *keep], numeric=numeric)
    kernel = Kernel(engine, jit=engine == "vectorized" and use_jit(frame.height, in_memory=True))
    if not groups and not scenario.grid and not progress:
        clean = clean_losses(frame, scenario.spec, *scenario.single, kernel)
        if clean is not None:
            if clean.inflation_above_one:
                warn_percentages(frame.get_column("inflation_rate"), source)
            return cast("FrameT", given.with_loss(None, clean.loss))
    batch = _checked_frame(frame, scenario, kernel, by=groups, progress=progress)
    log = FailureLog(numeric=numeric)
    log.add(batch.rejected)
    _set_aside(log, source, on_invalid)
    warn_percentages(batch.valid["inflation_rate"], source)
    rows = (batch.valid[ROW].to_numpy() - 1).astype(np.int64) if log else None
    if groups:
        totals = GroupTotals(groups, scenario.pairs)
        totals.add(batch.valid, batch.losses)
        return cast("FrameT", given.back(totals.frame()))
    if scenario.grid:
        carried = [c for c in dict.fromkeys(keep) if c != ID]
        long = loss_table(batch.valid.select(ID, *carried), scenario, batch.losses)
        return cast("FrameT", given.back(long))
    return cast("FrameT", given.with_loss(rows, batch.losses[0]))
