"""One progress bar for long work: tqdm on stderr when asked for, else a silent stand-in."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


class _Silent:
    """Takes the calls a tqdm bar takes and does nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None: ...

    def update(self, n: int = 1) -> None: ...

    def set_postfix_str(self, text: str) -> None: ...

    def close(self) -> None: ...


def progress_bar(
    *, total: int | None, desc: str, unit: str, enabled: bool, unit_scale: bool = False
) -> Any:
    """A tqdm bar (``tqdm.auto``: a widget in notebooks), imported only when enabled."""
    if not enabled:
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, leave=False)
