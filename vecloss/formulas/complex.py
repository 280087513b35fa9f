"""The complex formula (the default): growth with the floor area.

``loss = C * exp(i * A / 1000) * p / (1 + d)**T``
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vecloss.formulas.definition import FloatArray, Formula

__all__ = ["FORMULA", "severity"]


def severity(
    construction_cost: FloatArray,
    floor_area: FloatArray,
    inflation_rate: FloatArray,
    out: FloatArray | None = None,
) -> FloatArray:
    """The loss if the hazard strikes, complex formula: ``S = C * exp(i * A / 1000)``.

    Parameters
    ----------
    construction_cost : array_like
        C, the cost of the building, in the portfolio's currency (used as given).
    floor_area : array_like
        A, the floor area (m²); it scales the growth rate, per 1000 m².
    inflation_rate : array_like
        i, the annual inflation rate as a fraction (0.02 is 2 %).
    out : ndarray, optional
        A float64 array of the same length to write into.

    Returns
    -------
    ndarray
        S per building. The loss is ``S * p / (1 + d)**T``; the horizon T enters only
        through the discount. An ``S`` that overflows comes out as inf; the caller
        rejects that building.

    Examples
    --------
    >>> import numpy as np
    >>> severity(np.array([1200.0]), np.array([2000.0]), np.array([0.02]))
    array([1248.97292903])
    """
    buf = np.empty(np.shape(construction_cost)) if out is None else out
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(inflation_rate, floor_area, out=buf)
        np.divide(buf, 1000.0, out=buf)
        np.exp(buf, out=buf)
        np.multiply(buf, construction_cost, out=buf)
    return buf


def scalar(construction_cost: float, floor_area: float, inflation_rate: float) -> float:
    """``S`` for one building in Python floats (the oracle; the pooled baselines' task)."""
    return construction_cost * math.exp(inflation_rate * floor_area / 1000)


def _polars(years: int) -> Any:
    import polars as pl

    growth = (pl.col("inflation_rate") * pl.col("floor_area") / 1000).exp()
    return pl.col("construction_cost") * growth


def _sql(years: int) -> str:
    return "construction_cost * exp(inflation_rate * floor_area / 1000)"


FORMULA = Formula(
    "complex",
    severity,
    scalar=scalar,
    equation="C * exp(i * A / 1000) * p / (1 + d)**T",
    polars=_polars,
    sql=_sql,
    compiled="vecloss.kernels.compiled:complex_block",
)
