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
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

from vecloss.checks.ids import Seen, SeenIds
from vecloss.exceptions import InputError, UsageError, require

__all__ = ["Dask", "Executor", "InProcess", "Work", "check_scheduler", "part_rows_for"]


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
    seen: Seen | None = None  # ids across parts (None: a new, exact SeenIds)

    def map(self, calls: Sequence[Work], progress: Any) -> list[Any]:
        seen = self.seen if self.seen is not None else SeenIds()
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
        if isinstance(self.scheduler, str):
            self.scheduler = check_scheduler(self.scheduler)

    @property
    def cores(self) -> int:
        return self.workers or os.cpu_count() or 1

    def map(self, calls: Sequence[Work], progress: Any) -> list[Any]:
        from distributed import wait

        with contextlib.ExitStack() as stack:
            client = self._client(stack)
            futures = [client.submit(call, pure=False) for call in calls]
            try:
                pending, workerless = set(futures), None
                while pending:
                    try:
                        done, pending = wait(list(pending), 2, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        workerless = _check_workers(client, workerless)
                        continue
                    workerless = None
                    for future in done:
                        result = _result(future)
                        progress.update(result.rows + result.log.rows)
                return list(client.gather(futures))
            except BaseException:
                client.cancel(futures, force=True)  # Ctrl-C, SIGTERM, a failure: stop now
                raise

    def _client(self, stack: contextlib.ExitStack) -> Any:
        from distributed import Client, LocalCluster

        if self.scheduler is not None and not isinstance(self.scheduler, str):
            return self.scheduler  # a Client the caller made (a notebook, a test)
        if self.scheduler is not None:
            return stack.enter_context(_connect(self.scheduler))
        with _children_ignore_sigint():  # Ctrl-C reaches this process, which stops the cluster
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=self.cores,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # a free port: no clash with another cluster
                    env={"POLARS_MAX_THREADS": "1"},
                    silence_logs=logging.CRITICAL,  # failures reach the user as vecloss errors
                )
            )
        client = stack.enter_context(Client(cluster))
        from vecloss.run._dask_plugin import IgnoreInterrupts

        client.register_plugin(IgnoreInterrupts(), name="vecloss-ignore-interrupts")
        return client


#: Seconds a run waits with no worker at all before it fails (``VECLOSS_DASK_WORKERLESS``).
WORKERLESS_SECONDS = 60.0
#: Seconds to reach a scheduler and complete Dask's handshake (``VECLOSS_DASK_CONNECT``).
CONNECT_SECONDS = 30.0
_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
_ADDRESS = re.compile(
    r"^(?:(?P<scheme>[a-z]+)://)?(?P<host>[^\s/:]+|\[[0-9a-fA-F:]+\]):(?P<port>\d+)$"
)


def check_scheduler(address: str) -> str:
    """The address as Dask takes it (``tcp://HOST:PORT``), or a UsageError saying why not."""
    found = _ADDRESS.match(address.strip())
    scheme = (found.group("scheme") or "tcp") if found else None
    if scheme in ("http", "https"):
        msg = (
            f"{address} is a web address (the Dask dashboard?); hint: the scheduler listens on "
            "tcp://HOST:8786 by default"
        )
        raise UsageError(msg)
    if found is None or scheme not in _SCHEMES or not 0 < int(found.group("port")) < 65536:
        msg = f"{address!r} is not a Dask scheduler address; hint: tcp://HOST:PORT"
        raise UsageError(msg)
    return f"{scheme}://{found.group('host')}:{found.group('port')}"


@contextlib.contextmanager
def _connect(address: str) -> Iterator[Any]:
    """A Client of the scheduler at ``address``, or a clear error within CONNECT_SECONDS: a
    port that is not a Dask scheduler (a web server, a proxy) must not hang the run."""
    import dask
    from distributed import Client

    limit = float(os.environ.get("VECLOSS_DASK_CONNECT", CONNECT_SECONDS))

    def connect() -> Any:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{limit}s"}):
            return Client(address, timeout=f"{limit}s")

    attempt: Future[Any] = Future()

    def run() -> None:
        try:
            attempt.set_result(connect())
        except BaseException as exc:  # handed to the waiting thread
            attempt.set_exception(exc)

    # A daemon thread: a handshake that never ends must not keep the process alive.
    threading.Thread(target=run, name="vecloss-connect", daemon=True).start()
    try:
        client = attempt.result(timeout=limit + 5)
    except FutureTimeout:
        msg = (
            f"no Dask scheduler answered at {address} within {limit:.0f} s; "
            "hint: check the address and that the scheduler runs"
        )
        raise UsageError(msg) from None
    except Exception as exc:  # OSError, a failed handshake, a wild length from a proxy
        msg = (
            f"cannot use {address} as a Dask scheduler: {type(exc).__name__}: {exc}; "
            "hint: check the address (tcp://HOST:PORT) and that a Dask scheduler listens there"
        )
        raise UsageError(msg) from exc
    with client:
        yield client


def _check_workers(client: Any, since: float | None) -> float | None:
    """Fail when the cluster has had no worker for WORKERLESS_SECONDS; else when that began."""
    if client.scheduler_info().get("workers"):
        return None
    now = time.monotonic()
    since = now if since is None else since
    limit = float(os.environ.get("VECLOSS_DASK_WORKERLESS", WORKERLESS_SECONDS))
    if now - since > limit:
        msg = (
            f"the Dask cluster has had no worker for {limit:.0f} s; hint: check that its workers "
            "run (and did not all die), then run again"
        )
        raise InputError(msg)
    return since


def _result(future: Any) -> Any:
    """A part's result; a worker killed again and again becomes a clear error."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        msg = (
            f"Dask workers died running a part ({exc}); hint: too little memory per worker? "
            "try fewer --workers or smaller --batch-rows"
        )
        raise InputError(msg) from exc


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started inside ignore SIGINT (a terminal's Ctrl-C reaches the whole group):
    this process takes it alone, cancels the work and closes the cluster."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
