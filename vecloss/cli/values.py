"""The values of the command line's options, parsed and checked: a bad one is argparse's error
(exit 2), with the hint."""

from __future__ import annotations

import argparse

from vecloss import formulas
from vecloss.exceptions import UsageError
from vecloss.names import CONTENDERS


def parse_years(text: str) -> int | list[int]:
    """``10`` or a grid ``10,30``: integers >= 0."""
    values = []
    for part in text.split(","):
        try:
            years = int(part)
        except ValueError:
            years = -1
        if years < 0:
            msg = f"years must be an integer >= 0 (or a list like 10,30), got {part!r}"
            raise argparse.ArgumentTypeError(msg)
        values.append(years)
    return values[0] if len(values) == 1 else values


def parse_rate(text: str) -> float | list[float]:
    """``0.05`` or a grid ``0.03,0.05``: finite numbers > -1."""
    values = []
    for part in text.split(","):
        try:
            rate = float(part)
        except ValueError:
            msg = f"discount rate must be a number > -1 (or a list like 0.03,0.05), got {part!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if not -1 < rate < float("inf"):
            msg = f"discount rate must be finite and > -1, got {part!r}"
            raise argparse.ArgumentTypeError(msg)
        values.append(rate)
    return values[0] if len(values) == 1 else values


def parse_positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def parse_count(text: str) -> int:
    try:
        value = int(float(text)) if "e" in text.lower() else int(text.replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a number of buildings >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def parse_columns(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_sizes(text: str) -> list[int]:
    return [parse_count(part) for part in text.split(",")]


def parse_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        msg = f"unknown engine {', '.join(unknown)}; choose from {', '.join(CONTENDERS)}"
        raise argparse.ArgumentTypeError(msg)
    return names


def parse_formula(text: str) -> str:
    """A built-in's name, or ``package.module:name`` of a user formula that imports."""
    try:
        formulas.get(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def parse_return_periods(text: str) -> list[float]:
    """``10,50,100``: numbers >= 1."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            value = 0.0
        if not 1 <= value < float("inf"):
            msg = f"return periods must be numbers >= 1 (a list like 10,50,100), got {part!r}"
            raise argparse.ArgumentTypeError(msg)
        values.append(int(value) if value.is_integer() else value)
    return values


def parse_number_or_column(text: str) -> float | str:
    """A number (``0.4``), or else a column's name."""
    try:
        return float(text)
    except ValueError:
        return text


def parse_seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        msg = f"expected a seed in [0, 2**64), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value
