"""The in-memory API: read a validated portfolio, add its loss column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import polars as pl

from vecloss.compute import Model, as_pairs, compute_batch, fast_path_applies, grid_batch
from vecloss.engines import Engine
from vecloss.exceptions import UsageError
from vecloss.formulas import Formula, check_parameters
from vecloss.groups import GroupTotals
from vecloss.io.sources import read_source
from vecloss.schema import ID, NUMERIC
from vecloss.validate import (
    ROW,
    FailureLog,
    block_ok,
    check_columns,
    later_duplicates,
    split_valid,
)

__all__ = ["losses", "read", "validated"]

FrameT = TypeVar("FrameT")


def validated(frame: pl.DataFrame, source: str = "portfolio") -> pl.DataFrame:
    """``frame`` with its numeric columns as Float64; raise if any row breaks the schema.

    A clean frame of numbers without nulls is checked with NumPy reductions (the
    fused engine's twin); anything else, or any failure, by the Polars rules,
    which name every failing row.
    """
    check_columns(frame.schema, source)
    if fast_path_applies(frame, Model()):
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
    return validated(read_source(source), str(source))


def _to_polars(data: Any) -> tuple[pl.DataFrame, str]:
    if isinstance(data, pl.DataFrame):
        return data, "polars"
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
    years: int | Sequence[int] = 10,
    discount_rate: float | Sequence[float] = 0.05,
    engine: Engine = "vectorized",
    by: str | None = None,
) -> FrameT:
    """Return ``data`` plus a float64 ``loss`` column, in the same kind of frame.

    ``data`` is a Polars DataFrame, a pyarrow Table or a pandas DataFrame with
    the schema's columns; it is validated first and never modified. A loss that
    overflows is an error, never an inf in the result. ``engine`` picks how the
    column is computed (see :mod:`vecloss.engines`); every engine gives the
    same numbers.

    With lists for ``years`` and/or ``discount_rate`` every pair is evaluated
    and the result is the long table ``buildingId, years, discount_rate, loss``
    (pairs years-major, buildings in input order within each pair).

    With ``by`` (an input column), the result is instead one row per group (and
    pair): ``years, discount_rate, <by>, buildings, total_loss, mean_loss``.

    Notes
    -----
    complex: ``loss = C * exp(i * A / 1000) * p / (1 + d)**T``;
    simple: ``loss = C * (1 + i)**T * p / (1 + d)**T``.
    """
    pairs = as_pairs(years, discount_rate)
    for t, d in pairs:
        check_parameters(formula, t, d)
    frame, kind = _to_polars(data)
    check_columns(frame.schema, "portfolio")
    model = Model(formula=formula, engine=engine)
    grid = isinstance(years, (list, tuple)) or isinstance(discount_rate, (list, tuple))
    if grid:
        valid, columns, rejected = grid_batch(frame, model, pairs)
    else:
        single = Model(formula=formula, years=pairs[0][0], discount_rate=pairs[0][1], engine=engine)
        valid, rejected = compute_batch(frame, single)
    if rejected.height:
        log = FailureLog()
        log.add(rejected)
        source = "portfolio"
        raise log.error(source)
    if by is not None:
        if by not in frame.columns:
            msg = f"no column {by!r} to group by; found {', '.join(frame.columns)}"
            raise UsageError(msg)
        totals = GroupTotals(by, pairs)
        totals.add(valid, columns if grid else [valid["loss"].to_numpy()])
        result = totals.frame()
    elif grid:
        result = pl.concat(
            [
                valid.select(ID).with_columns(
                    years=pl.lit(t, pl.Int64),
                    discount_rate=pl.lit(d, pl.Float64),
                    loss=pl.Series("loss", loss),
                )
                for (t, d), loss in zip(pairs, columns, strict=True)
            ]
        )
    else:
        result = frame.with_columns(valid["loss"])
    converted: Any = result
    if kind == "pyarrow":
        converted = result.to_arrow()
    elif kind == "pandas":
        converted = result.to_pandas()
    return cast("FrameT", converted)
