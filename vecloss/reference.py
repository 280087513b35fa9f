"""Scalar per-building twins of :mod:`vecloss.formulas`.

These are the test oracle and the task the baseline kernels (loop, thread and
process pools) run once per building. They are plain Python on floats, written
as the formulas read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["reference_complex_loss", "reference_loss", "reference_simple_loss"]


def _discount(years: int, discount_rate: float) -> float:
    try:
        return float((1.0 + discount_rate) ** years)
    except OverflowError:
        return math.inf


def reference_complex_loss(
    construction_cost: float,
    floor_area: float,
    hazard_probability: float,
    inflation_rate: float,
    years: int = 10,
    discount_rate: float = 0.05,
) -> float:
    """``C * exp(i * A / 1000) * p / (1 + d)**T`` for one building; inf on overflow."""
    try:
        growth = math.exp(inflation_rate * floor_area / 1000)
        return construction_cost * growth * hazard_probability / _discount(years, discount_rate)
    except (OverflowError, ZeroDivisionError):
        return math.inf


def reference_simple_loss(
    construction_cost: float,
    floor_area: float,
    hazard_probability: float,
    inflation_rate: float,
    years: int = 10,
    discount_rate: float = 0.05,
) -> float:
    """``C * (1 + i)**T * p / (1 + d)**T`` for one building; inf on overflow."""
    del floor_area
    try:
        growth = (1 + inflation_rate) ** years
        return construction_cost * growth * hazard_probability / _discount(years, discount_rate)
    except (OverflowError, ZeroDivisionError):
        return math.inf


REFERENCE = {"complex": reference_complex_loss, "simple": reference_simple_loss}


def reference_loss(
    building: Mapping[str, Any],
    years: int = 10,
    discount_rate: float = 0.05,
    formula: str = "complex",
) -> float:
    """The loss of one building given as a record (a dict with the schema's columns)."""
    return REFERENCE[formula](
        float(building["construction_cost"]),
        float(building["floor_area"]),
        float(building["hazard_probability"]),
        float(building["inflation_rate"]),
        years,
        discount_rate,
    )
