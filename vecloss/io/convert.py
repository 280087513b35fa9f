"""``vecloss convert``: any supported format to any other, batch by batch."""

from __future__ import annotations

from pathlib import Path

from vecloss.io.sink import Output, check_targets
from vecloss.io.source import iter_batches, open_source

__all__ = ["convert"]


def convert(source: str | Path, target: str | Path, *, batch_rows: int = 1_000_000) -> int:
    """Copy ``source`` (a file, a folder or glob of Parquet files) to ``target``; return rows."""
    src = open_source(source)
    check_targets(src.files, target)  # never over its own input (hardening C5)
    rows = 0
    with Output(target) as out:
        for path in src.files:
            for batch in iter_batches(path, batch_rows=batch_rows):
                out.write(batch)
                rows += batch.height
    return rows
