"""The Dask engine: the parts of a source mapped over a cluster, a local one by default.

Each part is a picklable spec (a file path and a run of its row groups). A
worker streams its part with the same code as a local run (validation, the
fused vectorized pass, the rejects), writes its own part files into a staging
folder, and sends back only small results: counts, the failure log, the exact
pieces of the total (block sums, and the partial blocks at its edges), group
partials and the paths of its part files. ``dask[distributed]`` is imported
only here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vecloss.exceptions import UsageError
from vecloss.io.sources import Part

__all__ = ["map_parts", "part_rows_for"]


def part_rows_for(total_rows: int | None, workers: int) -> int:
    """Rows per part: about four parts per worker, so that a slow part does not stall the rest."""
    return max(1, (total_rows or 0) // (4 * workers))


def _client(stack: contextlib.ExitStack, scheduler: Any, workers: int) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        msg = "the dask engine needs dask[distributed]; hint: pip install 'vecloss[dask]'"
        raise UsageError(msg) from exc
    if scheduler is not None and not isinstance(scheduler, str):
        return scheduler  # a Client the caller made (a notebook, a test)
    if scheduler is not None:
        try:
            return stack.enter_context(Client(scheduler, timeout="10s"))
        except OSError as exc:
            msg = f"cannot reach the Dask scheduler at {scheduler}: {exc}; hint: check the address"
            raise UsageError(msg) from exc
    cluster = stack.enter_context(
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: no clash with another cluster
            env={"POLARS_MAX_THREADS": "1"},
        )
    )
    return stack.enter_context(Client(cluster))


def map_parts(
    parts: Sequence[Part],
    job: Any,
    *,
    staging: Path | None,
    want_output: bool,
    want_rejects: bool,
    source: str,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Any = None,
) -> list[Any]:
    """Run :func:`vecloss.pipeline.process_part` for every part on a Dask cluster, in order."""
    from distributed import as_completed

    from vecloss.pipeline import process_part

    with contextlib.ExitStack() as stack:
        client = _client(stack, scheduler, workers or os.cpu_count() or 1)
        futures = [
            client.submit(
                process_part,
                part,
                job,
                staging=staging,
                index=index,
                want_output=want_output,
                want_rejects=want_rejects,
                source=source,
                pure=False,
            )
            for index, part in enumerate(parts)
        ]
        for future in as_completed(futures):
            if progress is not None:
                result = future.result()
                progress.update(result.rows + result.log.rows)
        return list(client.gather(futures))
