"""The one way readers turn a library's exception into a clear :class:`InputError`."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vecloss.exceptions import InputError, VeclossError, interruption_in

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "first_line",
    "fit_schema",
    "no_such_file",
    "os_error",
    "reading",
    "unreadable",
    "writing",
]


def no_such_file(path: str | Path) -> InputError:
    """The one error for an input that is not there."""
    return InputError(f"{path}: no such file; hint: check the path")


def first_line(exc: BaseException | str) -> str:
    """The first line of a library's message (its reason; what follows is detail), or the
    exception's type when it says nothing."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def unreadable(path: str | Path, what: str, exc: BaseException | str) -> InputError:
    """An :class:`InputError` naming the file, what was expected and why it failed."""
    reason = first_line(exc)
    if isinstance(exc, FileNotFoundError):
        return no_such_file(path)
    if isinstance(exc, PermissionError):
        msg = f"{path}: permission denied; hint: check the file's permissions"
    elif isinstance(exc, IsADirectoryError):
        msg = f"{path}: is a directory; hint: give a file"
    elif "utf-8" in reason.lower() or "utf8" in reason.lower():
        hint = (
            "vecloss reads text as UTF-8, and this file is in another encoding (Latin-1, "
            "Windows-1252, ...): save it as UTF-8 (iconv -f latin1 -t utf-8 IN > OUT)"
        )
        msg = f"{path}: cannot read {what}: {reason[:200]}; hint: {hint}"
    else:
        msg = f"{path}: cannot read {what}: {reason[:200]}; hint: check that the file is {what}"
    return InputError(msg)


def fit_schema(table: pa.Table, schema: pa.Schema | None) -> pa.Table:
    """``table`` cast to the ``schema`` of the batches written before it.

    A streamed source can change a column's type mid-way (rows with text where
    numbers were go to the rejects as text); Parquet and Arrow files hold one
    schema, so a batch that cannot take it is a clear error, not a crash.
    """
    if schema is None or table.schema.equals(schema):
        return table
    import pyarrow as pa  # (loaded already: ``table`` is one of its)

    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        msg = (
            f"a later batch does not fit the columns of the first ({exc}); "
            "hint: write this output (often --rejects) as .csv or .ndjson"
        )
        raise InputError(msg) from exc


@contextlib.contextmanager
def reading(path: str | Path, what: str) -> Iterator[None]:
    """Turn any failure while reading ``path`` into one :class:`InputError`.

    Readers rely on Polars and pyarrow, which raise many kinds of exception
    (Polars' Rust panics derive from BaseException); none of them may escape.
    """
    try:
        yield
    except VeclossError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # Polars' Rust panics derive from BaseException only
        raise interruption_in(exc) or unreadable(path, what, exc) from exc


#: How Polars (``(os error 28)``) and Arrow (``[errno 28]``) report the system's error code.
_CODE = re.compile(r"\(os error (\d+)\)|\[errno (\d+)\]", re.IGNORECASE)


def os_error(exc: BaseException, path: str | Path) -> BaseException:
    """``exc`` as the :class:`OSError` it was, naming ``path`` (the destination the user gave,
    not a staged name: hardening U5); any other exception as it is."""
    code = exc.errno if isinstance(exc, OSError) else None
    if code is None:
        found = _CODE.search(str(exc))
        if found is None:
            return exc
        code = int(found.group(1) or found.group(2))
    return OSError(code, os.strerror(code), str(path))


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Any library's report of a failed write, as the system's error on ``path``."""
    try:
        yield
    except Exception as exc:
        mapped = os_error(exc, path)
        if mapped is exc:
            raise
        raise mapped from exc
