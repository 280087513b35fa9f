"""The options every entry point shares, each checked once, here: whole numbers, ``on_invalid``,
``keep``, ``by`` (a column or a list), and the run's options together (:func:`check_options`).

A bad value is a :class:`~vecloss.UsageError` naming the option, raised before any data is read.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Literal

from vecloss.exceptions import UsageError
from vecloss.names import ENGINES

__all__ = [
    "COMPUTED",
    "OnInvalid",
    "check_keep",
    "check_on_invalid",
    "check_options",
    "group_columns",
    "whole",
    "whole_in",
]

OnInvalid = Literal["fail", "skip"]
#: The columns a run computes (``loss``; ``years`` and ``discount_rate`` for a grid).
COMPUTED = ("loss", "years", "discount_rate")


def whole(value: object, name: str, *, optional: bool = True) -> int | None:
    """``value`` as an ``int`` >= 1 (any integer type, NumPy's too; hardening U8), or None."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        msg = f"{name} must be a whole number >= 1, got {value!r}"
        raise UsageError(msg)
    return int(value)


def whole_in(value: object, name: str, low: int, high: int) -> int:
    """``value`` as an ``int`` in ``[low, high)`` (any integer type)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be a whole number, got {value!r}"
        raise UsageError(msg)
    if not low <= int(value) < high:
        msg = f"{name} must be in [{low:,}, {high:,}), got {int(value):,}"
        raise UsageError(msg)
    return int(value)


def check_on_invalid(on_invalid: object) -> None:
    """``on_invalid`` is ``"fail"`` or ``"skip"``."""
    if on_invalid not in ("fail", "skip"):
        msg = f"on_invalid must be 'fail' or 'skip', got {on_invalid!r}"
        raise UsageError(msg)


def check_keep(keep: object) -> tuple[str, ...]:
    """``keep`` as a tuple of column names (a list of them; one string is refused)."""
    if (
        isinstance(keep, str)
        or not isinstance(keep, Sequence | tuple)
        or not all(isinstance(c, str) for c in keep)
    ):
        msg = f"keep must be a list of column names, got {keep!r}"
        raise UsageError(msg)
    return tuple(keep)


def group_columns(by: object) -> tuple[str, ...]:
    """``by`` as a tuple of column names: None, one name, or a sequence of names."""
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    if isinstance(by, Sequence) and by and all(isinstance(c, str) for c in by):
        if len(set(by)) < len(by):
            msg = f"by names a column twice: {list(by)!r}"
            raise UsageError(msg)
        return tuple(by)
    msg = f"by must be a column name or a list of them, got {by!r}"
    raise UsageError(msg)


def check_options(
    *,
    engine: str = "vectorized",
    workers: object = None,
    chunk_size: object = None,
    batch_rows: object = None,
    on_invalid: str = "fail",
    keep: object = (),
    by: object = None,
) -> None:
    """Raise :class:`UsageError` naming the first run option out of its domain."""
    if engine not in ENGINES:
        msg = f"unknown engine {engine!r}; hint: choose one of {', '.join(ENGINES)}"
        raise UsageError(msg)
    whole(workers, "workers")
    whole(chunk_size, "chunk size")
    whole(batch_rows, "batch rows")
    check_on_invalid(on_invalid)
    named = [("keep", c) for c in check_keep(keep)] + [("by", c) for c in group_columns(by)]
    for option, column in named:
        if column in COMPUTED:  # hardening C8: never the input's column silently dropped
            msg = (
                f"{option} {column!r}: {column} is a column vecloss writes, so an input column "
                f"of that name can be neither kept nor grouped by; hint: rename it in the input"
            )
            raise UsageError(msg)
