"""Executors decide where the parts of a run execute: in this process, or on a Dask cluster.

Both run the same work per part (a picklable call: :func:`vecloss.run.worker.process_part`
for ``run``, :func:`vecloss.risk.tally.tally_part` for ``risk``) and give back
its results in part order; each result has ``rows`` and ``log`` for progress.

- :class:`InProcess`: parts in turn, one set of seen ids across them (so a
  repeated id is rejected wherever it is), writing through the sinks' shared
  writers when they have one.
- :class:`Dask`: parts as picklable specs mapped over a cluster (a local one of
  single-threaded processes by default, or ``scheduler``); each worker writes
  its own staged part files. ``dask[distributed]`` is imported only here, when
  this executor runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vecloss.checks.ids import SeenIds
from vecloss.exceptions import UsageError, require

__all__ = ["Dask", "Executor", "InProcess", "Work", "part_rows_for"]


#: One part's work, every argument bound but ``seen`` and ``progress`` (a picklable partial).
Work = Callable[..., Any]


class Executor(Protocol):
    """Runs every part's work; results in part order."""

    staged: bool  # whether parts write staged files of their own

    def map(self, calls: Sequence[Work], progress: Any) -> list[Any]: ...


@dataclass
class InProcess:
    """Parts in turn, in this process, with one set of seen ids across them."""

    staged: bool = False

    def map(self, calls: Sequence[Work], progress: Any) -> list[Any]:
        seen = SeenIds()
        return [call(seen=seen, progress=progress) for call in calls]


def part_rows_for(total_rows: int | None, workers: int) -> int:
    """Rows per part: about four parts per worker, so that a slow part does not stall the rest."""
    return max(1, (total_rows or 0) // (4 * workers))


@dataclass
class Dask:
    """Parts mapped over a Dask cluster: ``scheduler`` (an address or a Client), or a local one."""

    workers: int | None = None
    scheduler: Any = None
    staged: bool = True

    def __post_init__(self) -> None:
        require("distributed", "the dask engine", "dask")

    @property
    def cores(self) -> int:
        return self.workers or os.cpu_count() or 1

    def map(self, calls: Sequence[Work], progress: Any) -> list[Any]:
        from distributed import as_completed

        with contextlib.ExitStack() as stack:
            client = self._client(stack)
            futures = [client.submit(call, pure=False) for call in calls]
            for future in as_completed(futures):
                result = future.result()
                progress.update(result.rows + result.log.rows)
            return list(client.gather(futures))

    def _client(self, stack: contextlib.ExitStack) -> Any:
        from distributed import Client, LocalCluster

        if self.scheduler is not None and not isinstance(self.scheduler, str):
            return self.scheduler  # a Client the caller made (a notebook, a test)
        if self.scheduler is not None:
            try:
                return stack.enter_context(Client(self.scheduler, timeout="10s"))
            except OSError as exc:
                msg = (
                    f"cannot reach the Dask scheduler at {self.scheduler}: {exc}; "
                    "hint: check the address"
                )
                raise UsageError(msg) from exc
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=self.cores,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: no clash with another cluster
                env={"POLARS_MAX_THREADS": "1"},
            )
        )
        return stack.enter_context(Client(cluster))
