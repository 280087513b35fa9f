"""The one exception root of vecloss and its few subclasses.

Every error a user can cause is a :class:`VeclossError`. The command line maps
:class:`InputError` (bad data, unreadable source) to exit code 1 and
:class:`UsageError` (bad parameters) to exit code 2.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "InputError",
    "PercentageWarning",
    "Terminated",
    "UsageError",
    "ValidationError",
    "VeclossError",
    "interruption_in",
    "interruptions_raised",
    "needs_extra",
    "require",
    "warn",
    "warn_percent_like",
]


class VeclossError(Exception):
    """Root of every error vecloss raises on purpose."""

    exit_code = 1


class InputError(VeclossError):
    """The source cannot be read, or its data break the portfolio schema."""


class UsageError(VeclossError, ValueError):
    """A parameter is out of its domain (years < 0, discount rate <= -1, ...)."""

    exit_code = 2


class ValidationError(InputError):
    """Rows break the schema; ``failures`` holds one row per (reason, column)."""

    def __init__(self, msg: str, failures: pl.DataFrame | None = None) -> None:
        super().__init__(msg)
        # (None from the message alone: how Polars re-raises an error from inside an expression)
        if failures is None:
            import polars as pl  # (this module is imported before polars: kept light)

            failures = pl.DataFrame()
        self.failures = failures


class Terminated(KeyboardInterrupt):
    """SIGTERM (a plain ``kill``, a scheduler or a container stopping the run): unwinds like
    Ctrl-C, so that staged outputs are removed and the destination is left as it was."""


#: How PyO3 (Polars' bridge to Python) names a Python exception that it could not hand back
#: and turned into a panic: Ctrl-C landing while Polars calls back into Python (it does, to
#: read default options, on a process's first scan of a Parquet file).
_PANIC_OVER = re.compile(r"PyErr \{ type: <class '(?:[\w.]+\.)?(KeyboardInterrupt|Terminated)'>")


def interruption_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) that a library's error or panic stands for, or None.

    A Rust library's panic is not an interruption by type, only by its message; without this,
    a Ctrl-C at that moment was reported as a file that could not be read (exit 1)."""
    found = _PANIC_OVER.search(str(exc))
    if found is None:
        return None
    return Terminated() if found.group(1) == "Terminated" else KeyboardInterrupt()


@contextlib.contextmanager
def interruptions_raised() -> Iterator[None]:
    """Raise the Ctrl-C (or SIGTERM) that a library's panic stands for as itself, so that the
    caller's own handling of interruptions takes it (the command line's, anywhere in a run)."""
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # (Polars' Rust panics derive from BaseException only)
        interrupted = interruption_in(exc)
        if interrupted is None:
            raise
        raise interrupted from exc


def warn_percent_like(count: int, source: str) -> None:
    """Warn, when ``count`` inflation rates are above 1 (over 100 % a year), that rates are
    fractions: most likely percentages were given."""
    if count:
        warn(
            f"{source}: {count:,} inflation_rate value{' is' if count == 1 else 's are'} above 1 "
            "(over 100 % a year): rates are fractions; hint: 2 % is 0.02",
            PercentageWarning,
        )


class PercentageWarning(UserWarning):
    """A rate above 1 (over 100 % a year): most likely a percentage where a fraction goes."""


def needs_extra(what: str, extra: str) -> UsageError:
    """The error for a feature whose optional dependencies are not installed. The hint names
    the extra's packages themselves, a command that works however vecloss was installed
    (``pip install 'vecloss[dask]'`` fails for an install from a clone: no such distribution
    on the index)."""
    packages = " ".join(f"'{p}'" for p in extra_requirements(extra)) or f"'vecloss[{extra}]'"
    return UsageError(f"{what} needs the {extra} extra; hint: pip install {packages}")


def extra_requirements(extra: str) -> list[str]:
    """The requirements of one of vecloss's extras, as installed metadata lists them."""
    import importlib.metadata
    import re

    try:
        declared = importlib.metadata.requires("vecloss") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    return [r.split(";")[0].strip() for r in declared if ";" in r and marker.search(r)]


def require(module: str, what: str, extra: str) -> None:
    """Raise :func:`needs_extra`'s error unless ``module`` can be imported (nothing is imported)."""
    if importlib.util.find_spec(module) is None:
        raise needs_extra(what, extra)


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first line outside vecloss that led here (the user's line, in a notebook
    or a script), whatever the depth of the call inside the package."""
    import os
    import sys
    import warnings
    from pathlib import Path

    package = str(Path(__file__).resolve().parent) + os.sep
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
