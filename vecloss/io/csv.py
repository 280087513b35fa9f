"""CSV with a header row."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import polars as pl

from vecloss.exceptions import InputError
from vecloss.io._errors import reading, unreadable
from vecloss.io._stream import stream_text_parsed
from vecloss.schema import ID, NUMERIC, REQUIRED

__all__ = ["Writer", "iter_batches", "read"]

WHAT = "CSV with a header row"


def check_header(path: Path) -> None:
    """Refuse a header that names a schema column twice (hardening D4): Polars would rename
    the second copy and the first would be used without a word."""
    with reading(path, WHAT), path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        header = next(csv.reader(f), [])
    for name in REQUIRED:
        places = [i + 1 for i, given in enumerate(header) if given == name]
        if len(places) > 1:
            where = " and ".join(str(p) for p in places)
            msg = (
                f"{path}: the header gives the column {name!r} more than once (columns {where}); "
                "hint: keep one column of each name"
            )
            raise InputError(msg)


def read(path: Path) -> pl.DataFrame:
    """Read the file; numeric columns as numbers, or as text when a value is not a number.

    The fast path is Polars' reader with the types it infers from the first 100
    rows, kept when every numeric column of the schema comes out as numbers
    (declaring them Float64 costs ~6 % more: measured on 1M rows). Else the
    numeric columns are parsed as Float64; if a value does not parse, the file
    is read again as text so that validation can name each bad row instead of
    failing on the first one.
    """
    text_ids = {ID: pl.String()}
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        check_header(path)
        try:
            frame = pl.read_csv(path, schema_overrides=text_ids)
            if all(frame.schema.get(c.name, pl.Float64).is_numeric() for c in NUMERIC):
                return _typed_ids(frame)
        except pl.exceptions.ComputeError:
            pass
        floats = {c.name: pl.Float64 for c in NUMERIC} | text_ids
        try:  # other columns' types from the first 100 rows (fast), or from all
            return _typed_ids(pl.read_csv(path, schema_overrides=floats))
        except pl.exceptions.ComputeError:
            pass
        try:
            frame = pl.read_csv(path, schema_overrides=floats, infer_schema_length=None)
            return _typed_ids(frame)
        except pl.exceptions.ComputeError:
            frame = pl.read_csv(path, infer_schema=False)
    return _typed_ids(frame)


#: 10**0 .. 10**18: where a magnitude falls among them is its count of digits.
_POWERS = np.array([10**k for k in range(19)], dtype=np.uint64)


def whole_ids(ids: pl.Series) -> pl.Series | None:
    """``ids`` (text) as Int64 when every one is a whole number written as Int64 writes it,
    else None: ``00123``, ``+7`` or ``-0`` would be rewritten, so they stay text, and ``007``
    and ``7`` stay two buildings (hardening D3: an id is never rewritten). The first id is
    judged alone first: ids like ``LOC-1`` are known to stay text without casting them all
    (~24 ms for 1M)."""
    first = ids.drop_nulls().head(1)
    if first.len() and not _as_written(first)[1].all():
        return None
    numbers, written = _as_written(ids)
    return numbers if written.all() else None


def _as_written(ids: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """``ids`` (text) cast to Int64, and for each whether that is how it is written (a null:
    yes). Polars' cast accepts a ``+`` and leading zeros; a canonical number has exactly as
    many bytes as its digits and its sign: one count of each (~50 ms on 2M ids)."""
    numbers = ids.cast(pl.Int64, strict=False)
    values = numbers.fill_null(0).to_numpy()
    magnitude = np.abs(values).view(np.uint64)  # (-2**63 too)
    digits = np.maximum(np.searchsorted(_POWERS, magnitude, side="right"), 1) + (values < 0)
    written = digits == ids.fill_null("0").str.len_bytes().to_numpy()
    written &= (numbers.is_not_null() | ids.is_null()).to_numpy()
    return numbers, written


def _typed_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its text ids as Int64 when :func:`whole_ids` allows it."""
    if ID not in frame.columns or frame.schema[ID] != pl.String:
        return frame
    numbers = whole_ids(frame[ID])
    return frame if numbers is None else frame.with_columns(numbers)


def iter_batches(
    path: Path, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Stream the file in batches of ``batch_rows`` rows: memory stays bounded."""
    with reading(path, WHAT):
        if path.stat().st_size == 0:
            raise unreadable(path, WHAT, "the file is empty")
        check_header(path)

    def scan(overrides: Mapping[str, pl.DataType], row_index: str) -> pl.LazyFrame:
        return pl.scan_csv(
            path,
            schema_overrides={**overrides, ID: pl.String()},
            infer_schema_length=10_000,
            row_index_name=row_index,
        )

    integers: bool | None = None  # whether the ids are Int64: the first batch decides
    done = 0
    for batch in stream_text_parsed(scan, path, WHAT, batch_rows=batch_rows, columns=columns):
        if ID in batch.columns and batch[ID].null_count() < batch.height:  # (some id to judge)
            numbers = whole_ids(batch[ID]) if integers is not False else None
            if integers is None:
                integers = numbers is not None
            elif integers and numbers is None:
                raise _ids_change(path, batch[ID], done)
            if numbers is not None:
                batch = batch.with_columns(numbers)
        elif ID in batch.columns and integers:
            batch = batch.with_columns(pl.col(ID).cast(pl.Int64))
        done += batch.height
        yield batch


def _ids_change(path: Path, ids: pl.Series, done: int) -> InputError:
    """The error for a streamed file whose ids were whole numbers up to a batch that has an
    id written otherwise: its type is set by then, and rewriting the id is not an option."""
    row = int(np.argmin(_as_written(ids)[1]))  # the first id not written as Int64 writes it
    msg = (
        f"{path}: the ids of the first {done:,} rows are whole numbers, and row {done + row + 1:,}"
        f" has the id {ids[row]!r}, which is not written as one (vecloss never rewrites an id); "
        "hint: read the file whole (vecloss.read), or give every id as text in Parquet"
    )
    return InputError(msg)


class Writer:
    """Append frames as rows under one header."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._file, include_header=self._header)
        self._header = False

    def close(self) -> None:
        self._file.close()
