"""A Dask worker plugin for the local cluster (imported only when the Dask executor runs)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin

__all__ = ["IgnoreInterrupts"]


class IgnoreInterrupts(WorkerPlugin):
    """The local cluster's worker processes ignore Ctrl-C (a terminal sends it to the whole
    process group): the run's own process cancels the work and stops them, quietly."""

    def setup(self, worker: Any) -> None:
        del worker
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
