"""One progress bar for long work: tqdm's text bar when installed (the ``progress`` extra),
else a plain text line on stderr; a silent stand-in when not asked for.

The text bar is used in notebooks too: it is saved with the notebook as output
text and so still reads 100 % when the notebook is reopened, where a widget
would show only its last synced state (or nothing) without a live kernel.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any

__all__ = ["progress_bar"]


class _Silent:
    """Takes the calls a tqdm bar takes and does nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None: ...

    def set_postfix_str(self, text: str) -> None: ...

    def close(self) -> None: ...


class _Text(_Silent):
    """Rows done (and of how many), rows per second, on one stderr line at most twice a second."""

    def __init__(self, total: int | None, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done = 0
        self.started = self.shown = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.shown >= 0.5:
            self.shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        of = f" of {self.total:,}" if self.total else ""
        rate = self.done / max(now - self.started, 1e-9)
        sys.stderr.write(f"\r{self.desc}: {self.done:,}{of}{self.unit} ({rate:,.0f}{self.unit}/s)")
        sys.stderr.flush()

    def close(self) -> None:
        self._show(time.perf_counter())
        sys.stderr.write("\n")


def progress_bar(
    *, total: int | None, desc: str, unit: str, enabled: bool, unit_scale: bool = False
) -> Any:
    """A bar on stderr: tqdm's text bar if installed (imported only here), else a text line;
    either ends showing the work done."""
    if not enabled:
        return _Silent()
    if importlib.util.find_spec("tqdm") is None:
        return _Text(total, desc, unit)
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit_scale,
        leave=True,
        file=sys.stderr,
        mininterval=0.5,
    )
