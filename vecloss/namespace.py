"""The Polars-native surface: ``vecloss.loss()`` expressions and ``.vecloss`` namespaces.

Use::

    df = vecloss.read("examples/data.json")
    df.with_columns(vecloss.loss(years=30))          # an expression
    df.vecloss.losses(years=30)                      # vecloss.losses(df, years=30)
    pl.scan_parquet("p.parquet").vecloss.losses().collect()   # lazy

The parameters follow :meth:`vecloss.scenario.Scenario.parse`, as everywhere:
a sequence of years or rates is a grid. ``loss()`` then gives a struct column
with one field per pair (``loss_10_0.05``, ...; ``.struct.unnest()`` spreads
it), and ``lf.vecloss.losses`` the long table, as :func:`vecloss.losses` does.

The expression runs the same NumPy kernel as :func:`vecloss.losses` (the
compiled one only with ``VECLOSS_JIT=1``: an expression cannot know the size
of its input up front) and checks the same numeric rules on the way: a row
that validation would reject never gets a number. By default the query fails
with a :class:`~vecloss.ValidationError` naming each rule broken, with its rows
(counted in the batch the expression sees); ``on_invalid="null"`` gives those
rows a null loss instead (``vecloss.validate(df).rejected`` then says why).
An expression sees one column at a time, not the whole frame, so repeated ids
are not its to check: ``df.vecloss.losses()`` checks them.
:func:`unchecked_loss` is the bare formula, for data already validated.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from vecloss.api import losses
from vecloss.checks.rules import FAILURES, ROW, split_valid
from vecloss.exceptions import PercentageWarning, UsageError, ValidationError
from vecloss.formulas import Formula
from vecloss.kernels.blocks import checked_losses, use_jit, vectorized_losses
from vecloss.scenario import FormulaArg, Rates, Scenario, Years
from vecloss.schema import ID

__all__ = ["VeclossFrame", "VeclossLazyFrame", "loss", "unchecked_loss"]


def _field(years: int, rate: float) -> str:
    return f"loss_{years}_{rate}"


def loss(
    *,
    formula: FormulaArg = "complex",
    years: Years = 10,
    discount_rate: Rates = 0.05,
    on_invalid: Literal["raise", "null"] = "raise",
) -> pl.Expr:
    """An expression for the loss column, from the schema's four numeric columns, checked.

    Elementwise, so it works in ``select``, ``with_columns``, lazily and in
    ``group_by(...).agg(vecloss.loss().sum())``. For a grid, a struct with one
    Float64 field per (years, discount rate) pair. A row that breaks a rule (a null,
    a probability outside 0-1, an inflation rate of -1 or less, a loss beyond float64)
    fails the query (``on_invalid="raise"``) or gets a null loss (``"null"``).

    >>> import polars as pl, vecloss
    >>> df = pl.DataFrame({"floor_area": [2000.0, 10.0], "construction_cost": [1200.0, 5.0],
    ...                    "hazard_probability": [0.1, 7.0], "inflation_rate": [0.02, 0.0]})
    >>> df.select(vecloss.loss(on_invalid="null").round(2))["loss"].to_list()
    [76.68, None]
    """
    if on_invalid not in ("raise", "null"):
        msg = f"on_invalid must be 'raise' or 'null', got {on_invalid!r}"
        raise UsageError(msg)
    return _expression(formula, years, discount_rate, check=on_invalid)


def unchecked_loss(
    *, formula: FormulaArg = "complex", years: Years = 10, discount_rate: Rates = 0.05
) -> pl.Expr:
    """The bare formula as an expression, without the checks of :func:`loss`: for data
    already validated (``vecloss.read`` validates). A null or NaN input gives NaN, a
    probability of 7 a loss seven times too large; nothing is said."""
    return _expression(formula, years, discount_rate, check=None)


def _expression(
    formula: FormulaArg, years: Years, discount_rate: Rates, check: str | None, quiet: bool = False
) -> pl.Expr:
    with warnings.catch_warnings():
        if quiet:  # (the caller parsed these already, and warned once)
            warnings.simplefilter("ignore", PercentageWarning)
        scenario = Scenario.parse(formula, years, discount_rate)
    jit = use_jit(None)
    spec = scenario.spec

    def one(
        columns: tuple[Any, ...], t: int, d: float, rejected: Callable[[], pl.DataFrame]
    ) -> pl.Series:
        if check is None:
            values = vectorized_losses(columns, formula=spec, years=t, discount_rate=d, jit=jit)
            return pl.Series(_field(t, d), values, dtype=pl.Float64)
        named = dict(zip(spec.inputs, columns, strict=True))
        checked = checked_losses(named, formula=spec, years=t, discount_rate=d, jit=jit)
        column = pl.Series(_field(t, d), checked.loss, dtype=pl.Float64)
        if checked.ok:  # (every rule checked block by block, in cache, as the kernel ran)
            return column
        ruled = np.zeros(len(checked.loss), dtype=bool)
        ruled[rejected()[ROW].to_numpy() - 1] = True
        overflow = ~np.isfinite(checked.loss) & ~ruled  # (a rule broken says it already)
        broken = ruled | overflow
        if not broken.any():  # (-0.0, which the fast check sends here, is fine)
            return column
        if check == "raise":
            raise _broken(rejected(), overflow, int(np.count_nonzero(broken)))
        return column.set(pl.Series(broken), None)

    def apply(inputs: pl.Series) -> pl.Series:
        columns = tuple(inputs.struct.field(name).to_numpy() for name in spec.inputs)
        rejected = functools.cache(lambda: _rejected(inputs, spec))  # (once a batch, if needed)
        if not scenario.grid:
            return one(columns, *scenario.single, rejected).alias("loss")
        fields = [one(columns, t, d, rejected) for t, d in scenario.pairs]
        return pl.struct(fields, eager=True).alias("loss")

    dtype = (
        pl.Struct({_field(t, d): pl.Float64 for t, d in scenario.pairs})
        if scenario.grid
        else pl.Float64
    )
    return (
        pl.struct([pl.col(name).cast(pl.Float64) for name in spec.inputs])
        .map_batches(apply, return_dtype=dtype, is_elementwise=True)
        .alias("loss")
    )


def _rejected(inputs: pl.Series, formula: Formula) -> pl.DataFrame:
    """The rows of an expression's batch that validation rejects, by its own rules
    (:func:`~vecloss.checks.rules.split_valid`), numbered from 1 (an expression has no ids)."""
    numbered = inputs.struct.unnest().with_row_index(ROW, offset=1)
    numbered = numbered.with_columns(pl.col(ROW).cast(pl.Int64).alias(ID))
    return split_valid(numbered, strings=False, numeric=formula.numeric).rejected


def _broken(rejected: pl.DataFrame, overflow: Any, count: int) -> ValidationError:
    """The error for the ``count`` rows of an expression's batch that break a rule
    (``rejected``) or whose loss passes float64's range (``overflow``): each rule and its
    first rows."""
    rules = rejected.select(ROW, pl.col(FAILURES).explode().struct.field("column", "code")).select(
        ROW, rule=pl.format("{}: {}", "column", "code")
    )
    overflowed = pl.DataFrame({ROW: np.flatnonzero(overflow) + 1}, schema={ROW: rules.schema[ROW]})
    failures = pl.concat([rules, overflowed.with_columns(rule=pl.lit("loss: overflow"))])
    lines = [
        f"  {rule}, {len(rows):,} row{'s' if len(rows) > 1 else ''}: "
        + ", ".join(f"row {r}" for r in rows[:5])
        + (", ..." if len(rows) > 5 else "")
        for rule, rows in failures.group_by("rule", maintain_order=True)
        .agg(pl.col(ROW))
        .iter_rows()
    ]
    msg = (
        f"vecloss.loss(): {count:,} row{'s' if count > 1 else ''} of the batch "
        f"{'break' if count > 1 else 'breaks'} the schema\n"
        + "\n".join(lines)
        + "\nhint: vecloss.validate(df) names them by id; vecloss.loss(on_invalid='null') "
        "gives them a null loss"
    )
    return ValidationError(msg)


@pl.api.register_dataframe_namespace("vecloss")
class VeclossFrame:
    """``df.vecloss``: the vecloss API on a Polars DataFrame."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def losses(self, **options: Any) -> pl.DataFrame:
        """``vecloss.losses(df, **options)``: validated, with a ``loss`` column."""
        result: pl.DataFrame = losses(self._frame, **options)
        return result


@pl.api.register_lazyframe_namespace("vecloss")
class VeclossLazyFrame:
    """``lf.vecloss``: add the loss column to a lazy query (no validation, see the module)."""

    def __init__(self, frame: pl.LazyFrame) -> None:
        self._frame = frame

    def losses(
        self,
        *,
        formula: FormulaArg = "complex",
        years: Years = 10,
        discount_rate: Rates = 0.05,
        keep: Sequence[str] = (),
        on_invalid: Literal["raise", "null"] = "raise",
    ) -> pl.LazyFrame:
        """The query plus a checked ``loss`` column (see :func:`loss`); a grid: the long table
        ``buildingId, <keep...>, years, discount_rate, loss``, as :func:`vecloss.losses`."""
        scenario = Scenario.parse(formula, years, discount_rate)
        if on_invalid not in ("raise", "null"):
            msg = f"on_invalid must be 'raise' or 'null', got {on_invalid!r}"
            raise UsageError(msg)
        if isinstance(keep, str):
            msg = f"keep must be a list of column names, got {keep!r}"
            raise UsageError(msg)
        if not scenario.grid:
            t, d = scenario.single
            return self._frame.with_columns(
                _expression(formula, t, d, check=on_invalid, quiet=True)
            )
        carried = [pl.col(c) for c in dict.fromkeys(keep) if c != ID]
        return pl.concat(
            [
                self._frame.select(
                    pl.col(ID),
                    *carried,
                    years=pl.lit(t, pl.Int64),
                    discount_rate=pl.lit(d, pl.Float64),
                    # (each pair as parsed above: a rate above 1 warned once, not per pair)
                    loss=_expression(formula, t, d, check=on_invalid, quiet=True),
                )
                for t, d in scenario.pairs
            ]
        )
