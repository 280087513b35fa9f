"""What every speed target is measured with: the scale, the target, races of contenders in
turns, fresh processes timed with their peak memory."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecloss import formulas

__all__ = [
    "FORMULAS",
    "SAMPLE_SECONDS",
    "Scale",
    "Target",
    "cli_command",
    "process",
    "race",
    "same",
    "turns",
]

FORMULAS: tuple[str, ...] = formulas.names()  # every built-in formula is raced
SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Scale:
    """The sizes raced (the issue's by default; smaller for a quick check)."""

    sizes: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
    json_rows: int = 1_000_000
    stream_rows: int = 20_000_000
    parquet_rows: int = 10_000_000
    text_rows: int = 1_000_000
    repeat: int = 7
    big_rows: int = 100_000_000  # Parquet of string ids to a total, for its peak memory (0: none)

    @classmethod
    def up_to(cls, largest: int, repeat: int) -> Scale:
        sizes = (*(s for s in cls.sizes if s < largest), largest)
        return cls(
            sizes,
            min(largest, 1_000_000),
            2 * largest,
            largest,
            min(largest, 1_000_000),
            repeat,
            10 * largest if largest >= 10_000_000 else 0,
        )


@dataclass
class Target:
    """One target: vecloss's figure against a peer's (a ratio) or against a limit."""

    work: str
    rows: int
    peer: str
    vecloss: float
    peer_value: float | None  # None: an absolute limit (memory, error), no peer
    unit: str  # "s", "MB" or "rel. error"
    limit: float | None  # None: not a target, a bound measured beside one
    ids: str = "-"  # the kind of building ids of the data measured ("-": not about ids)

    @property
    def value(self) -> float:
        return self.vecloss if self.peer_value is None else self.vecloss / self.peer_value

    @property
    def met(self) -> bool | None:
        return None if self.limit is None else self.value <= self.limit

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "value": self.value, "met": self.met}


def turns(names: list[str], repeat: int) -> Iterator[str]:
    """The contenders' turns: at least one round each. Each round starts with the next one
    (measured: the place alone moves a time by ~10 %), and every other round runs them in
    reverse, so that no contender always follows the same one (what runs just before can
    slow a call down: memory handed back, threads winding down)."""
    for round_ in range(max(repeat, len(names))):
        order = names if round_ % 2 == 0 else names[::-1]
        start = (round_ // 2) % len(names)
        yield from order[start:] + order[:start]


def race(fns: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds per call of each function, run in turn; and each one's last answer."""
    answers = {name: fn() for name, fn in fns.items()}  # warm-up: imports, pools, caches
    calls = {}
    for name, fn in fns.items():
        started = time.perf_counter()
        fn()
        once = time.perf_counter() - started
        calls[name] = max(1, int(SAMPLE_SECONDS / max(once, 1e-7)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name in turns(list(fns), repeat):
        fn = fns[name]
        started = time.perf_counter()
        for _ in range(calls[name]):
            fn()
        times[name].append((time.perf_counter() - started) / calls[name])
    return {name: statistics.median(t) for name, t in times.items()}, answers


def same(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=what)


#: Runs a command and reports its wall time and peak memory. Linux carries a process's
#: peak memory across exec, so a command forked straight from this (large) process would
#: report this process's size: it is started from this small launcher instead.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss / 1024, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def process(command: Sequence[str]) -> tuple[float, float, str]:
    """Wall seconds, peak memory (MB) and output of a fresh process running ``command``."""
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=False
    )
    if done.returncode:
        msg = f"{' '.join(command)} failed ({done.returncode}): {done.stderr}"
        raise RuntimeError(msg)
    seconds, peak = done.stderr.splitlines()[-1].split()
    return float(seconds), float(peak), done.stdout


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("vecloss")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vecloss"]
