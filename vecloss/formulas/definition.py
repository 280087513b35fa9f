"""What a formula is: :class:`Formula`, the one declaration every part of vecloss reads.

Every loss formula has the shape ``loss = p * S / (1 + d)**T``: the annual hazard
probability ``p``, a *severity* ``S`` (the loss if the hazard strikes, before
discounting: a function of the building's columns and, maybe, the horizon ``T``) and
the discount. A formula declares ``S`` once, as a NumPy function over named columns;
vecloss adds ``p`` and the discount, the same way for every formula, so that grids can
share the severity across discount rates and the risk module can draw hits with ``p``
and add up ``S``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vecloss.exceptions import UsageError
from vecloss.schema import NUMERIC, REQUIRED, Column

__all__ = ["INPUTS", "PROBABILITY", "FloatArray", "Formula", "compound_discount", "discount_factor"]

FloatArray = npt.NDArray[np.float64]

#: The schema's numeric columns, in the order the kernels take them.
INPUTS: tuple[str, ...] = (
    "construction_cost",
    "floor_area",
    "hazard_probability",
    "inflation_rate",
)
PROBABILITY = "hazard_probability"
_SPECIAL = ("years", "out")


def discount_factor(years: int, discount_rate: float) -> float:
    """Return ``1 / (1 + d)**T`` as a float; inf where ``(1 + d)**T`` underflows to 0.

    Python floats (the C library's ``pow``, as NumPy's scalar power): no error state to set
    up, which a small frame would feel."""
    try:
        return 1.0 / (1.0 + float(discount_rate)) ** years
    except OverflowError:  # (1 + d)**T above the largest float: the factor is 0
        return 0.0
    except ZeroDivisionError:  # (1 + d)**T underflowed to 0
        return math.inf


def compound_discount(years: int, discount_rate: float) -> float:
    """``(1 + d)**T`` in Python floats, inf when it overflows (the scalar twins divide by it)."""
    try:
        return float((1.0 + discount_rate) ** years)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class Formula:
    """A loss formula ``loss = p * S / (1 + d)**T``, declared once.

    Parameters
    ----------
    name : str
        What users call it (``formula="flood"``), and what summaries print.
    severity : callable
        ``S``, the loss if the hazard strikes, with NumPy over whole columns. Its
        parameters name the input columns it reads (the schema's
        ``construction_cost``, ``floor_area``, ``inflation_rate``, or a column of
        ``extra``), plus ``years`` if it depends on the horizon, plus ``out`` if it
        can write into a given float64 array. It returns a float64 array of the
        columns' length (or anything NumPy broadcasts to one). It never reads
        ``hazard_probability``: vecloss multiplies by it.
    extra : sequence of Column
        Input columns beyond the schema's five, each with its rule
        (``Column("flood_depth", low=0.0, high=20.0)``); validation checks them as
        it checks the schema's (finite, in range), and names the rows that break them.
    scalar : callable, optional
        ``S`` for one building in plain Python floats, with the same parameters (no
        ``out``): the test oracle and the task of the pooled baselines. Without it, the
        baselines apply ``severity`` to one building at a time.
    equation : str
        The whole loss in words, for help texts: ``C * exp(i * A / 1000) * p / (1 + d)**T``.
    polars, sql : callable, optional
        ``S`` as a Polars expression and as SQL text, given ``years``: what the bench
        races as peers (``vecloss bench``), when declared.
    compiled : str, optional
        ``"module:function"`` of a fused compiled twin (Numba; see
        :mod:`vecloss.kernels.compiled` for its signature), used with the ``jit`` extra.
    """

    name: str
    severity: Callable[..., Any]
    extra: tuple[Column, ...] = ()
    scalar: Callable[..., float] | None = None
    equation: str = ""
    polars: Callable[[int], Any] | None = None
    sql: Callable[[int], str] | None = None
    compiled: str | None = None
    columns: tuple[str, ...] = field(init=False, repr=False)
    uses_years: bool = field(init=False, repr=False)
    writes_out: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", tuple(self.extra))
        if not isinstance(self.name, str) or not self.name or ":" in self.name:
            msg = f"a formula's name must be a word without ':', got {self.name!r}"
            raise UsageError(msg)
        if not callable(self.severity):
            msg = f"formula {self.name!r}: severity must be a function, got {self.severity!r}"
            raise UsageError(msg)
        for col in self.extra:
            if not isinstance(col, Column) or col.kind != "float" or col.name in REQUIRED:
                msg = (
                    f"formula {self.name!r}: extra columns are Column(name, low=..., high=...) "
                    f"not in the schema, got {col!r}"
                )
                raise UsageError(msg)
        params = inspect.signature(self.severity).parameters
        known = {*INPUTS, *(c.name for c in self.extra)} - {PROBABILITY}
        columns = tuple(p for p in params if p not in _SPECIAL)
        unknown = [c for c in columns if c not in known]
        if unknown:
            msg = (
                f"formula {self.name!r}: severity reads {', '.join(unknown)}, which is not an "
                f"input column; hint: declare it in extra=[Column({unknown[0]!r}, ...)]"
                + (" (the probability is applied by vecloss)" if PROBABILITY in unknown else "")
            )
            raise UsageError(msg)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "uses_years", "years" in params)
        object.__setattr__(self, "writes_out", "out" in params)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The float columns a kernel reads: the schema's four, then ``extra``'s."""
        return (*INPUTS, *(c.name for c in self.extra))

    @property
    def numeric(self) -> tuple[Column, ...]:
        """Every numeric column checked, with its rule: the schema's, then ``extra``'s."""
        return (*NUMERIC, *self.extra)

    def _arguments(self, columns: Mapping[str, Any], years: int) -> dict[str, Any]:
        arguments = {c: columns[c] for c in self.columns}
        if self.uses_years:
            arguments["years"] = years
        return arguments

    def severity_of(
        self, columns: Mapping[str, FloatArray], years: int, out: FloatArray | None = None
    ) -> FloatArray:
        """``S`` of every building, as float64, into ``out`` when given; inf or NaN where it
        overflows (the caller reports it)."""
        arguments = self._arguments(columns, years)
        if self.writes_out:  # (it fills ``out``, or a fresh array of its own: no input aliased)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return np.asarray(self.severity(**arguments, out=out))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            values = np.asarray(self.severity(**arguments), dtype=np.float64)
        rows = len(next(iter(columns.values())))
        if out is not None:
            out[...] = values
            return out
        if values.shape != (rows,) or any(
            np.may_share_memory(values, column) for column in arguments.values()
        ):  # (a constant, or an input column given back: vecloss writes into what it gets)
            return np.broadcast_to(values, (rows,)).copy()
        return values

    def loss(
        self,
        columns: Mapping[str, FloatArray],
        years: int = 10,
        discount_rate: float = 0.05,
        out: FloatArray | None = None,
    ) -> FloatArray:
        """``S * p * 1 / (1 + d)**T`` for every building (in that order of operations, so
        the bits do not depend on the path), into ``out`` when given."""
        buf = self.severity_of(columns, years, out)
        if not buf.flags.writeable:
            buf = buf.copy()
        factor = discount_factor(years, discount_rate)
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(buf, columns[PROBABILITY], out=buf)
            np.multiply(buf, factor, out=buf)
        return buf

    def scalar_loss(self, building: Mapping[str, Any], years: int, discount_rate: float) -> float:
        """The loss of one building (a mapping of its columns) in Python floats: the scalar
        twin, or ``severity`` on one building; inf where it overflows."""
        values = {c: float(building[c]) for c in self.columns}
        probability = float(building[PROBABILITY])
        try:
            if self.scalar is None:
                one = {PROBABILITY: np.array([probability])}
                one |= {c: np.array([v]) for c, v in values.items()}
                severity = float(self.severity_of(one, years)[0])
            else:
                severity = float(self.scalar(**self._arguments(values, years)))
            return severity * probability / compound_discount(years, discount_rate)
        except (OverflowError, ZeroDivisionError):
            return math.inf

    def polars_loss(self, years: int, discount_rate: float) -> Any:
        """The whole loss as a Polars expression (the bench's peer), or None."""
        if self.polars is None:
            return None
        import polars as pl

        probability = pl.col(PROBABILITY)
        return (self.polars(years) * probability / (1 + discount_rate) ** years).alias("loss")

    def sql_loss(self, years: int, discount_rate: float, table: str = "portfolio") -> str | None:
        """The whole loss as a SQL query over ``table`` (the bench's peer), or None."""
        if self.sql is None:
            return None
        return (
            f"select {self.sql(years)} * {PROBABILITY} "
            f"/ pow(1 + {discount_rate!r}, {years}) as loss from {table}"
        )

    def describe(self) -> str:
        """``name: equation`` (and the extra columns with their rules), for help texts."""
        extra = "".join(f"; {c.name}: {c.rule}" for c in self.extra)
        return f"{self.name}: {self.equation or self.name}{extra}"
