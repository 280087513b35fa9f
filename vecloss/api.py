"""The in-memory API: read a validated portfolio, add its loss column to a frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

import polars as pl

from vecloss.checks.columns import check_columns
from vecloss.checks.ids import later_duplicates
from vecloss.checks.log import FailureLog
from vecloss.checks.rules import ROW, block_ok, split_valid
from vecloss.exceptions import UsageError
from vecloss.io.source import open_source, read_source
from vecloss.kernels import KERNELS, Kernel
from vecloss.kernels.blocks import use_jit
from vecloss.run.batch import check_batch, fast_path_applies, loss_table
from vecloss.run.groups import GroupTotals
from vecloss.scenario import Formula, Rates, Scenario, Years
from vecloss.schema import ID, NUMERIC

__all__ = ["losses", "read", "validated"]

FrameT = TypeVar("FrameT")


def validated(frame: pl.DataFrame, source: str = "portfolio") -> pl.DataFrame:
    """``frame`` with its numeric columns as Float64; raise if any row breaks the schema.

    A clean frame of numbers without nulls is checked with NumPy reductions (the
    fused kernel's twin); anything else, or any failure, by the Polars rules,
    which name every failing row.
    """
    check_columns(frame.schema, source)
    if fast_path_applies(frame, Kernel()):
        floats = frame.with_columns(pl.col(c.name).cast(pl.Float64) for c in NUMERIC)
        columns = {c.name: floats[c.name].to_numpy() for c in NUMERIC}
        if block_ok(columns) and later_duplicates(frame[ID]) is None:
            return floats
    checked = split_valid(frame)
    if checked.rejected.height:
        log = FailureLog()
        log.add(checked.rejected)
        raise log.error(source)
    return checked.valid.drop(ROW)


def read(source: str | Path) -> pl.DataFrame:
    """Read a portfolio file into a validated Polars DataFrame.

    The format follows the suffix (``.json``, ``.ndjson``/``.jsonl``, ``.csv``,
    ``.parquet``, ``.arrow``/``.ipc``/``.feather``). ``buildingId`` keeps its
    type; the numeric columns become Float64; extra columns are kept.
    """
    src = open_source(source)
    if src.is_database:
        msg = f"{src.name}: read() takes files; hint: vecloss.run(uri, table=...) streams a table"
        raise UsageError(msg)
    frames = [read_source(path) for path in src.files]
    return validated(frames[0] if len(frames) == 1 else pl.concat(frames), src.name)


def _to_polars(data: Any) -> tuple[pl.DataFrame, str]:
    if isinstance(data, pl.DataFrame):
        return data, "polars"
    if isinstance(data, pl.LazyFrame):
        msg = (
            "losses() takes an eager frame, got a Polars LazyFrame; "
            "hint: lf.vecloss.losses(...) adds the loss to the query, or call .collect() first"
        )
        raise UsageError(msg)
    module = type(data).__module__.split(".")[0]
    if module == "pyarrow":
        frame = pl.from_arrow(data)
        if isinstance(frame, pl.DataFrame):
            return frame, "pyarrow"
    if module == "pandas":
        return pl.from_pandas(data), "pandas"
    msg = (
        f"losses() takes a Polars DataFrame, a pyarrow Table or a pandas DataFrame, "
        f"got {type(data).__name__}; hint: read a file with vecloss.read(path)"
    )
    raise UsageError(msg)


def losses(
    data: FrameT,
    *,
    formula: Formula = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    engine: str = "vectorized",
    by: str | None = None,
) -> FrameT:
    """Return ``data`` plus a float64 ``loss`` column, in the same kind of frame.

    ``data`` is a Polars DataFrame, a pyarrow Table or a pandas DataFrame with
    the schema's columns; it is validated first and never modified. A loss that
    overflows is an error, never an inf in the result. ``engine`` picks the
    kernel (``vectorized``, or a baseline: ``loop``, ``threads``,
    ``processes``); every kernel agrees with the scalar reference to 1e-12.

    A sequence for ``years`` or ``discount_rate`` (a list, tuple, range or
    array, even of one value) is a grid: every pair is evaluated and the result
    is the long table ``buildingId, years, discount_rate, loss`` (pairs
    years-major, buildings in input order within each pair).

    With ``by`` (an input column), the result is instead one row per group (and
    pair): ``years, discount_rate, <by>, buildings, total_loss, mean_loss``.

    Notes
    -----
    complex: ``loss = C * exp(i * A / 1000) * p / (1 + d)**T``;
    simple: ``loss = C * (1 + i)**T * p / (1 + d)**T``.
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
    if by is not None and not isinstance(by, str):
        msg = f"by must be a column name, got {by!r}"
        raise UsageError(msg)
    source = "portfolio"
    frame, kind = _to_polars(data)
    check_columns(frame.schema, source, carry=[by] if by else [])
    kernel = Kernel(engine, jit=engine == "vectorized" and use_jit(frame.height))
    batch = check_batch(frame, scenario, kernel)
    if batch.rejected.height:
        log = FailureLog()
        log.add(batch.rejected)
        raise log.error(source)
    if by is not None:
        totals = GroupTotals(by, scenario.pairs)
        totals.add(batch.valid, batch.losses)
        result = totals.frame()
    elif scenario.grid:
        result = loss_table(batch.valid.select(ID), scenario, batch.losses)
    else:
        result = frame.with_columns(loss=pl.Series("loss", batch.losses[0]))
    converted: Any = result
    if kind == "pyarrow":
        converted = result.to_arrow()
    elif kind == "pandas":
        converted = result.to_pandas()
        if by is None and not scenario.grid:
            converted.index = cast("Any", data).index  # the rows as they came, with their labels
    return cast("FrameT", converted)
