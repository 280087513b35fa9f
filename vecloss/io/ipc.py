"""Arrow IPC files (``.arrow``, ``.ipc``, ``.feather``), memory-mapped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from vecloss.io._errors import fit_schema, reading

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Writer", "read"]

WHAT = "Arrow IPC (Feather v2)"


def read(path: Path, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Map the file and read it without copying (or only ``columns``)."""
    import pyarrow as pa  # (loaded on first use: not at ``import vecloss``)

    with reading(path, WHAT), pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return pl.DataFrame(pl.from_arrow(table))


class Writer:
    """Write frames as record batches of one IPC file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            import pyarrow as pa

            self._writer = pa.ipc.new_file(str(self._path), table.schema)
            self._schema = table.schema
        self._writer.write_table(fit_schema(table, self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
