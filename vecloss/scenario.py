"""What to compute, parsed and checked once: the formula, the years, the discount rates.

Every entry point (``losses``, ``run``, ``loss()``, both ``.vecloss`` namespaces,
the command line) calls :meth:`Scenario.parse` before it touches any data. The
one rule: a scalar (any int-like or float-like, NumPy scalars included) is one
value; any sequence (list, tuple, range, 1-d NumPy array, ...) is a list of
values. When ``years`` or ``discount_rate`` is a sequence the request is a
*grid*: every (years, discount rate) pair is evaluated, years-major, and the
results come in the long layout (``years``, ``discount_rate`` columns), even
for a sequence of one value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vecloss import formulas
from vecloss.exceptions import PercentageWarning, UsageError, warn

__all__ = ["FormulaArg", "Rates", "Scenario", "Years"]

#: What ``formula`` accepts: a built-in's name (``"complex"``, ``"simple"``), a
#: :class:`vecloss.Formula`, or ``"package.module:name"`` of one.
FormulaArg = str | formulas.Formula

#: What ``years`` and ``discount_rate`` accept (checked at run time, see :meth:`Scenario.parse`).
Years = int | Iterable[int]
Rates = float | Iterable[float]

_INT64_MAX = int(np.iinfo(np.int64).max)


def _is_scalar(value: object) -> bool:
    return isinstance(value, numbers.Number | np.generic | str | bytes) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    )


def _values(value: object, name: str) -> tuple[list[object], bool]:
    """The values given and whether they came as a sequence."""
    if _is_scalar(value):
        return [value.item() if isinstance(value, np.ndarray | np.generic) else value], False
    if isinstance(value, np.ndarray) and value.ndim != 1:
        msg = f"{name} must be a number or a flat list of numbers, got shape {value.shape}"
        raise UsageError(msg)
    if isinstance(value, Iterable):
        items = [v.item() if isinstance(v, np.generic) else v for v in value]
        if not items:
            msg = f"give at least one value for {name}; hint: e.g. {name}=[10, 30]"
            raise UsageError(msg)
        return items, True
    msg = f"{name} must be a number or a list of numbers, got {type(value).__name__}"
    raise UsageError(msg)


def _year(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"years must be an integer >= 0, got {value!r}; hint: e.g. years=10"
        raise UsageError(msg)
    years = int(value)
    if not 0 <= years <= _INT64_MAX:
        msg = f"years must be an integer >= 0, got {value!r}; hint: e.g. years=10"
        raise UsageError(msg)
    return years


def _rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"discount rate must be a number > -1, got {value!r}; hint: 5 % is 0.05"
        raise UsageError(msg)
    rate = float(value)
    if not math.isfinite(rate) or rate <= -1.0:
        msg = f"discount rate must be finite and > -1, got {value!r}; hint: 5 % is 0.05"
        raise UsageError(msg)
    return rate


def _unique(values: list[Any], name: str) -> tuple[Any, ...]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        msg = f"{name} repeats {', '.join(map(str, repeated))}; hint: give each value once"
        raise UsageError(msg)
    return tuple(values)


@dataclass(frozen=True)
class Scenario:
    """A checked request: one formula, and the years and discount rates to evaluate.

    ``years_listed`` and ``rates_listed`` say whether the caller gave a sequence;
    with either, the request is a :attr:`grid`.
    """

    formula: str = "complex"  # the formula's name
    years: tuple[int, ...] = (10,)
    rates: tuple[float, ...] = (0.05,)
    years_listed: bool = False
    rates_listed: bool = False
    spec: formulas.Formula = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.spec is None:  # (a built-in given by its name)
            object.__setattr__(self, "spec", formulas.get(self.formula))

    @property
    def grid(self) -> bool:
        """Whether every pair is evaluated and results come in the long layout."""
        return self.years_listed or self.rates_listed

    @classmethod
    def parse(
        cls, formula: object = "complex", years: object = 10, discount_rate: object = 0.05
    ) -> Scenario:
        """Check every parameter; raise :class:`~vecloss.UsageError` naming the first bad one."""
        if (  # the common call, one plain int and float in range, checked without the ABCs
            type(years) is int
            and type(discount_rate) is float
            and 0 <= years <= _INT64_MAX
            and -1.0 < discount_rate <= 1.0
            and type(formula) is str
            and formula in formulas.REGISTRY
        ):
            return cls(formula, (years,), (discount_rate,), spec=formulas.REGISTRY[formula])
        spec = formulas.get(formula)
        year_values, years_grid = _values(years, "years")
        rate_values, rates_grid = _values(discount_rate, "discount_rate")
        rates = _unique([_rate(v) for v in rate_values], "discount_rate")
        if any(r > 1 for r in rates):
            warn(
                f"discount_rate {max(rates):g} is above 1 (over 100 % a year): rates are "
                f"fractions; hint: 5 % is 0.05",
                PercentageWarning,
            )
        return cls(
            spec.name,
            _unique([_year(v) for v in year_values], "years"),
            rates,
            years_grid,
            rates_grid,
            spec,
        )

    @property
    def pairs(self) -> tuple[tuple[int, float], ...]:
        """Every (years, discount rate) pair, years-major."""
        return tuple((t, d) for t in self.years for d in self.rates)

    @property
    def single(self) -> tuple[int, float]:
        """The one (years, discount rate) pair of a scenario that is not a grid."""
        if self.grid:
            msg = "this request is a grid of scenarios; hint: give one years and one rate"
            raise UsageError(msg)
        return self.years[0], self.rates[0]

    def describe(self) -> dict[str, Any]:
        """``years`` and ``discount_rate`` as given: a number, or a list for a grid."""
        years: int | list[int] = list(self.years) if self.years_listed else self.years[0]
        rates: float | list[float] = list(self.rates) if self.rates_listed else self.rates[0]
        return {"formula": self.formula, "years": years, "discount_rate": rates}
