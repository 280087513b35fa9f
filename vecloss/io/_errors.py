"""The one way readers turn a library's exception into a clear :class:`InputError`."""

from __future__ import annotations

from pathlib import Path

from vecloss.exceptions import InputError

__all__ = ["unreadable"]


def unreadable(path: str | Path, what: str, exc: BaseException | str) -> InputError:
    """An :class:`InputError` naming the file, what was expected and why it failed."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        msg = f"{path}: no such file; hint: check the path"
    elif isinstance(exc, PermissionError):
        msg = f"{path}: permission denied; hint: check the file's permissions"
    elif isinstance(exc, IsADirectoryError):
        msg = f"{path}: is a directory; hint: give a file (a folder works for Parquet parts)"
    else:
        msg = (
            f"{path}: cannot read {what}: {reason[:200]}; hint: check that the file is valid {what}"
        )
    return InputError(msg)
