"""Output that appears whole or not at all: write beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["AtomicPath"]


class AtomicPath:
    """A temporary path beside ``target``, renamed onto it by :meth:`commit`.

    A run that fails calls :meth:`abort` (or is killed): the target is left as it
    was, and the temporary file, whose name starts with a dot, is removed when
    the process can still do so.
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        folder = self.target.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        self.path = Path(name)

    def commit(self) -> None:
        """Move the finished file onto the target in one rename."""
        self.path.chmod(0o644)
        self.path.replace(self.target)

    def abort(self) -> None:
        """Drop the temporary file; the target is untouched."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
