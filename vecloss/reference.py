"""Scalar per-building twins of the formulas: the test oracle and the baselines' task.

:func:`reference_loss` gives one building's loss through its formula's scalar twin
(:attr:`vecloss.formulas.Formula.scalar`): plain Python on floats, written as the
formula reads. The loop, thread and process pool baselines run it once per building.
:func:`reference_complex_loss` and :func:`reference_simple_loss` are the two built-in
formulas written out whole, independently of the registry, for the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vecloss import formulas
from vecloss.formulas.definition import compound_discount

__all__ = ["reference_complex_loss", "reference_loss", "reference_simple_loss"]


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
        return (
            construction_cost
            * growth
            * hazard_probability
            / compound_discount(years, discount_rate)
        )
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
        return (
            construction_cost
            * growth
            * hazard_probability
            / compound_discount(years, discount_rate)
        )
    except (OverflowError, ZeroDivisionError):
        return math.inf


def reference_loss(
    building: Mapping[str, Any],
    years: int = 10,
    discount_rate: float = 0.05,
    formula: str | formulas.Formula = "complex",
) -> float:
    """The loss of one building given as a record (a dict with the formula's columns)."""
    return formulas.get(formula).scalar_loss(building, years, discount_rate)
