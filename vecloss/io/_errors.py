"""The one way readers turn a library's exception into a clear :class:`InputError`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from vecloss.exceptions import InputError, VeclossError

__all__ = ["reading", "unreadable"]


def unreadable(path: str | Path, what: str, exc: BaseException | str) -> InputError:
    """An :class:`InputError` naming the file, what was expected and why it failed."""
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        msg = f"{path}: no such file; hint: check the path"
    elif isinstance(exc, PermissionError):
        msg = f"{path}: permission denied; hint: check the file's permissions"
    elif isinstance(exc, IsADirectoryError):
        msg = f"{path}: is a directory; hint: give a file"
    else:
        msg = f"{path}: cannot read {what}: {reason[:200]}; hint: check that the file is {what}"
    return InputError(msg)


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
    except (Exception, BaseException) as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise unreadable(path, what, exc) from exc
