"""Outputs written as part files, then published whole: a folder of parts or one file."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from vecloss.io.sources import Output

__all__ = ["discard", "is_folder_output", "publish", "staging_folder"]


def is_folder_output(target: str | Path | None) -> bool:
    """An output ending in ``/`` or naming an existing folder is a folder of Parquet parts."""
    return target is not None and (str(target).endswith("/") or Path(target).is_dir())


def staging_folder(target: str | Path | None) -> Path:
    """A fresh folder beside ``target`` (same file system, so publishing is a rename)."""
    parent = Path(str(target).rstrip("/")).parent if target is not None else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".vecloss-parts-", dir=parent))


def publish(parts: Sequence[Path], target: str | Path) -> None:
    """Make ``parts`` (in order) the output at ``target``, whole or not at all.

    A folder target gets the parts renamed ``part-00000.parquet``, ...; the new
    folder replaces an old one in two renames. A file target gets the parts'
    rows concatenated in order, written atomically.
    """
    if is_folder_output(target):
        folder = Path(str(target).rstrip("/"))
        fresh = staging_folder(folder)
        for index, part in enumerate(parts):
            part.replace(fresh / f"part-{index:05d}.parquet")
        old = folder.with_name(f".{folder.name}.old") if folder.exists() else None
        if old is not None:
            folder.replace(old)
        fresh.replace(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    with Output(target) as out:
        out.write(pl.read_parquet(parts[0]).clear())  # the header, even with no rows
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=1_000_000):
                out.write(pl.DataFrame(pl.from_arrow(batch)))


def discard(folder: Path) -> None:
    """Remove a staging folder and whatever is in it."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(folder)
