"""The loss formulas as whole-column NumPy expressions.

Each function takes the four input columns as float64 arrays of one length and
returns the loss column. No Python runs per building. Pass ``out=`` (a float64
array of the same length) to write in place; the vectorized kernel uses it to keep
temporaries inside a cache-sized block. The scalar twins used as the test
oracle live in :mod:`vecloss.reference`; the fused compiled twins that the
vectorized kernel runs for very large runs (the same arithmetic in one loop per block,
with the checks) in :mod:`vecloss.kernels.compiled`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "INPUTS",
    "KERNELS",
    "complex_loss",
    "discount_factor",
    "simple_loss",
]

FloatArray = npt.NDArray[np.float64]

#: The input columns, in the order every kernel takes them.
INPUTS: tuple[str, ...] = (
    "construction_cost",
    "floor_area",
    "hazard_probability",
    "inflation_rate",
)


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


def _buffer(like: FloatArray, out: FloatArray | None) -> FloatArray:
    return np.empty_like(like, dtype=np.float64) if out is None else out


def complex_loss(
    construction_cost: FloatArray,
    floor_area: FloatArray,
    hazard_probability: FloatArray,
    inflation_rate: FloatArray,
    *,
    years: int = 10,
    discount_rate: float = 0.05,
    out: FloatArray | None = None,
) -> FloatArray:
    """Projected loss, complex formula (the default).

    Notes
    -----
    With C the construction cost, A the floor area, p the annual hazard
    probability, i the inflation rate, d the discount rate and T the years::

        loss = C * exp(i * A / 1000) * p / (1 + d)**T

    The discount ``1 / (1 + d)**T`` is one scalar, folded into a single
    multiply. A loss that overflows comes out as inf (or NaN); the caller
    reports it, it never reaches a total.
    """
    buf = _buffer(construction_cost, out)
    factor = discount_factor(years, discount_rate)
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(inflation_rate, floor_area, out=buf)
        np.divide(buf, 1000.0, out=buf)
        np.exp(buf, out=buf)
        np.multiply(buf, construction_cost, out=buf)
        np.multiply(buf, hazard_probability, out=buf)
        np.multiply(buf, factor, out=buf)
    return buf


def simple_loss(
    construction_cost: FloatArray,
    floor_area: FloatArray,
    hazard_probability: FloatArray,
    inflation_rate: FloatArray,
    *,
    years: int = 10,
    discount_rate: float = 0.05,
    out: FloatArray | None = None,
) -> FloatArray:
    """Projected loss, simple formula.

    Notes
    -----
    With C the construction cost, p the annual hazard probability, i the
    inflation rate, d the discount rate and T the years::

        loss = C * (1 + i)**T * p / (1 + d)**T

    ``floor_area`` is accepted for a uniform signature and not used.
    """
    del floor_area
    buf = _buffer(construction_cost, out)
    factor = discount_factor(years, discount_rate)
    with np.errstate(over="ignore", invalid="ignore"):
        np.add(inflation_rate, 1.0, out=buf)
        np.power(buf, float(years), out=buf)
        np.multiply(buf, construction_cost, out=buf)
        np.multiply(buf, hazard_probability, out=buf)
        np.multiply(buf, factor, out=buf)
    return buf


KERNELS = {"complex": complex_loss, "simple": simple_loss}
