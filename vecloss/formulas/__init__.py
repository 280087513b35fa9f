"""The formula registry: one module per built-in formula, and user formulas.

Each module of this package (``complex.py``, ``simple.py``) declares one
:class:`~vecloss.formulas.definition.Formula` as ``FORMULA``; the registry finds
them by listing the package, so adding a built-in formula is one new file. Every
consumer (kernels, grids, risk, the bench, the command line, the docs and the
tests) asks :func:`get` or :data:`REGISTRY`.

A user formula is the same declaration made in user code, passed as the object
(``vecloss.losses(df, formula=flood)``) or, from the command line, named as
``package.module:name``.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import MappingProxyType

from vecloss.exceptions import UsageError
from vecloss.formulas.definition import (
    INPUTS,
    PROBABILITY,
    FloatArray,
    Formula,
    discount_factor,
)

__all__ = [
    "DEFAULT",
    "INPUTS",
    "PROBABILITY",
    "REGISTRY",
    "FloatArray",
    "Formula",
    "complex_loss",
    "discount_factor",
    "get",
    "load",
    "names",
    "simple_loss",
]

DEFAULT = "complex"


def _builtins() -> dict[str, Formula]:
    """Every ``FORMULA`` of this package's modules, the default first, then by name."""
    found: dict[str, Formula] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_") or module.name == "definition":
            continue
        formula = importlib.import_module(f"{__name__}.{module.name}").FORMULA
        found[formula.name] = formula
    return {name: found[name] for name in sorted(found, key=lambda n: (n != DEFAULT, n))}


#: The built-in formulas by name (read-only).
REGISTRY = MappingProxyType(_builtins())


def names() -> tuple[str, ...]:
    """The built-in formulas' names, the default first."""
    return tuple(REGISTRY)


def load(path: str) -> Formula:
    """The :class:`Formula` named ``package.module:name`` (imported on the way)."""
    module_name, _, attribute = path.partition(":")
    hint = "name a user formula as package.module:name, importable from here"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = f"formula {path!r}: cannot import {module_name!r} ({exc}); hint: {hint}"
        raise UsageError(msg) from exc
    formula = getattr(module, attribute, None)
    if not isinstance(formula, Formula):
        found = "nothing" if formula is None else type(formula).__name__
        msg = f"formula {path!r}: {module_name}.{attribute} is {found}, not a vecloss.Formula"
        raise UsageError(msg + f"; hint: {hint}")
    return formula


def get(formula: object) -> Formula:
    """The formula asked for: a :class:`Formula` as given, a built-in's name, or
    ``package.module:name``; raise :class:`~vecloss.UsageError` otherwise."""
    if isinstance(formula, Formula):
        return formula
    if isinstance(formula, str):
        found = REGISTRY.get(formula)
        if found is not None:
            return found
        if ":" in formula:
            return load(formula)
    msg = (
        f"unknown formula {formula!r}; hint: choose one of {', '.join(REGISTRY)}, "
        "a vecloss.Formula, or package.module:name"
    )
    raise UsageError(msg)


def _by_position(
    name: str,
    values: tuple[FloatArray, ...],
    years: int,
    discount_rate: float,
    out: FloatArray | None,
) -> FloatArray:
    """A built-in's loss from the four schema columns in :data:`INPUTS` order."""
    return REGISTRY[name].loss(dict(zip(INPUTS, values, strict=True)), years, discount_rate, out)


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
    """Projected loss, complex formula: ``C * exp(i * A / 1000) * p / (1 + d)**T``.

    The four schema columns as float64 arrays of one length; see
    :mod:`vecloss.formulas.complex` for the units.

    >>> import numpy as np
    >>> complex_loss(np.array([1200.0]), np.array([2000.0]), np.array([0.1]), np.array([0.02]))
    array([76.67610344])
    """
    values = (construction_cost, floor_area, hazard_probability, inflation_rate)
    return _by_position("complex", values, years, discount_rate, out)


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
    """Projected loss, simple formula: ``C * (1 + i)**T * p / (1 + d)**T``
    (``floor_area`` is taken for a uniform signature and not used).

    >>> import numpy as np
    >>> simple_loss(np.array([1200.0]), np.array([2000.0]), np.array([0.1]), np.array([0.02]))
    array([89.80281965])
    """
    values = (construction_cost, floor_area, hazard_probability, inflation_rate)
    return _by_position("simple", values, years, discount_rate, out)
