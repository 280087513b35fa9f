"""The simple formula: compound inflation over the horizon.

``loss = C * (1 + i)**T * p / (1 + d)**T``
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vecloss.formulas.definition import FloatArray, Formula

__all__ = ["FORMULA", "severity"]


def severity(
    construction_cost: FloatArray,
    inflation_rate: FloatArray,
    years: int,
    out: FloatArray | None = None,
) -> FloatArray:
    """The loss if the hazard strikes, simple formula: ``S = C * (1 + i)**T``.

    Parameters
    ----------
    construction_cost : array_like
        C, the cost of the building, in the portfolio's currency (used as given).
    inflation_rate : array_like
        i, the annual inflation rate as a fraction (0.02 is 2 %).
    years : int
        T, the horizon in years: the cost grows with inflation for T years.
    out : ndarray, optional
        A float64 array of the same length to write into.

    Returns
    -------
    ndarray
        S per building (the floor area is not used). The loss is ``S * p / (1 + d)**T``.

    Examples
    --------
    >>> import numpy as np
    >>> severity(np.array([1200.0]), np.array([0.02]), years=10)
    array([1462.79330399])
    """
    buf = np.empty(np.shape(construction_cost)) if out is None else out
    with np.errstate(over="ignore", invalid="ignore"):
        np.add(inflation_rate, 1.0, out=buf)
        np.power(buf, float(years), out=buf)
        np.multiply(buf, construction_cost, out=buf)
    return buf


def scalar(construction_cost: float, inflation_rate: float, years: int) -> float:
    """``S`` for one building in Python floats (the oracle; the pooled baselines' task)."""
    return construction_cost * (1 + inflation_rate) ** years


def _polars(years: int) -> Any:
    import polars as pl

    return pl.col("construction_cost") * (1 + pl.col("inflation_rate")).pow(years)


def _sql(years: int) -> str:
    return f"construction_cost * pow(1 + inflation_rate, {years})"


FORMULA = Formula(
    "simple",
    severity,
    scalar=scalar,
    equation="C * (1 + i)**T * p / (1 + d)**T",
    polars=_polars,
    sql=_sql,
    compiled="vecloss.kernels.compiled:simple_block",
)
