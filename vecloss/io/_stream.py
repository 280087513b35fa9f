"""Stream a text format typed, and go on as text from the first value that does not parse."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.exceptions import InputError
from vecloss.io._errors import reading, unreadable
from vecloss.schema import ID, NUMERIC, REQUIRED

__all__ = [
    "BLOCK_BYTES",
    "check_keys",
    "drop_commas",
    "drop_commas_slowly",
    "parse_array_lines",
    "parse_lines",
    "slices",
    "stream_line_blocks",
    "stream_typed_then_text",
]

#: Bytes read at a time when streaming line-delimited JSON (or an array, one object a line).
BLOCK_BYTES = 32 << 20
_OBJECT_END = re.compile(rb"\}\s*,\s*\n")
NEWLINE, CARRIAGE_RETURN, COMMA, SPACE = b"\n\r, "
SCAN_BYTES = 1 << 20
# NaN and Infinity are not JSON, but Python's json module writes them.
BARE_NONFINITE = re.compile(rb"(?<=[\[:,])(\s*)(-?Infinity|NaN)(?=\s*[,\]\}])")
NUMERIC_NAMES = frozenset(c.name for c in NUMERIC)

#: Builds the lazy scan with these type overrides and a row index of this name.
Scan = Callable[[Mapping[str, pl.DataType], str], pl.LazyFrame]
POSITION = "__position"


def stream_typed_then_text(
    scan: Scan, path: Path, what: str, *, batch_rows: int, columns: Sequence[str] | None
) -> Iterator[pl.DataFrame]:
    """Yield batches of ``scan``'s frame with the numeric columns parsed as Float64.

    If a value does not parse, the rows already yielded stand, and the rest is
    streamed again from the first row not yielded, with the numeric columns as
    text: validation then names each bad row (``not_numeric``) instead of the
    whole file failing. ``buildingId`` keeps the type it had. Every typed batch
    is checked, by the reader's own row index, to be the next rows of the file
    before it is yielded, so that no row is given twice or skipped.
    """
    done = 0
    id_type: pl.DataType | None = None
    with reading(path, what):
        typed = scan({c.name: pl.Float64() for c in NUMERIC}, POSITION)
        wanted = [POSITION, *_present(typed, columns)]
        try:
            for batch in typed.select(wanted).collect_batches(chunk_size=batch_rows):
                if batch.height and not _follows(batch[POSITION], done):
                    break
                id_type = batch.schema.get(ID, id_type)
                done += batch.height
                yield batch.drop(POSITION)
            else:
                if done == 0:
                    yield typed.select(wanted[1:]).head(0).collect()
                return
        except pl.exceptions.ComputeError:
            pass
        text: dict[str, pl.DataType] = {c.name: pl.String() for c in NUMERIC}
        if id_type is not None:
            text[ID] = id_type
        rest = scan(text, POSITION)
        wanted = [POSITION, *_present(rest, columns)]
        stream = rest.select(wanted).filter(pl.col(POSITION) >= done)
        for batch in stream.collect_batches(chunk_size=batch_rows):
            if batch.height and not _follows(batch[POSITION], done):
                msg = "the reader gave rows out of order; hint: convert the file to Parquet"
                raise unreadable(path, what, msg)
            done += batch.height
            yield batch.drop(POSITION)


def _follows(positions: pl.Series, done: int) -> bool:
    """Whether ``positions`` are exactly the rows ``done``, ``done + 1``, ... in order."""
    first, last = positions[0], positions[-1]
    return bool(first == done and last == done + positions.len() - 1 and positions.is_sorted())


def _present(frame: pl.LazyFrame, columns: Sequence[str] | None) -> list[str]:
    names = [n for n in frame.collect_schema().names() if n != POSITION]
    return names if columns is None else [c for c in columns if c in names]


def drop_commas(chunk: bytes | bytearray) -> bytearray:
    """The objects of a one-object-per-line array as NDJSON: the commas at line ends go.

    A JSON string cannot hold a raw newline, so a comma right before a line
    end (or before ``\r\n``) is always structure: it is overwritten with a
    space, found with one NumPy pass over the bytes (a ``bytearray`` is
    changed in place). Other spacing (``}, \n``) is left for
    :func:`drop_commas_slowly`, which a failed parse falls back to.
    """
    buf = chunk if isinstance(chunk, bytearray) else bytearray(chunk)
    data = np.frombuffer(buf, dtype=np.uint8)
    for lo in range(0, len(data), SCAN_BYTES):  # cache-sized steps: no file-sized temporaries
        start = max(lo - 2, 0)  # room to look back over "\r" before the step's first "\n"
        part = data[start : lo + SCAN_BYTES]
        before = np.flatnonzero(part[lo - start :] == NEWLINE) + (lo - start - 1)
        before = before[before >= 0]
        before[part[before] == CARRIAGE_RETURN] -= 1
        before = before[before >= 0]
        part[before[part[before] == COMMA]] = SPACE
    return buf


def drop_commas_slowly(chunk: bytes | bytearray) -> bytes:
    """:func:`drop_commas` for any spacing around the comma, by regular expression."""
    return _OBJECT_END.sub(b"}\n", chunk)


def check_keys(
    data: bytes | bytearray, rows: int, path: Path, *, first_row: int, lines: bool
) -> None:
    """Refuse an object that gives a schema key twice (``{"p": 0.1, ..., "p": 5}``): Polars
    keeps the first value and Python's json the last, so no answer would be the right one.

    The check counts each key (``"name":``) over the bytes at C speed and compares
    with the rows parsed; only when a key is over-counted is the row looked for.
    """
    for name in REQUIRED:
        key = f'"{name}"'.encode()
        if data.count(key + b":") + data.count(key + b" :") <= rows:
            continue
        where = _repeated_row(data, key, lines)
        row = f"row {first_row + where}" if where is not None else "an object"
        msg = (
            f"{path}: {row} gives the key {name!r} more than once; hint: keep one value per "
            "key (JSON readers disagree on which one wins)"
        )
        raise InputError(msg)


def _repeated_row(data: bytes | bytearray, key: bytes, lines: bool) -> int | None:
    """The 0-based row of the first object that repeats ``key`` (the error path only)."""
    if lines:
        objects = (line for line in bytes(data).split(b"\n") if line.strip(b" \t\r,[]"))
        for index, line in enumerate(objects):  # one step per row, only once a repeat is known
            if line.count(key + b":") + line.count(key + b" :") > 1:
                return index
        return None
    import json

    name = key.decode()[1:-1]
    found: list[int] = []
    seen = 0

    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal seen
        if not found and [k for k, _ in pairs].count(name) > 1:
            found.append(seen)
        seen += 1
        return dict(pairs)

    try:
        json.loads(bytes(data), object_pairs_hook=hook)
    except ValueError:
        return None
    return found[0] if found else None


def slices(frame: pl.DataFrame, batch_rows: int) -> Iterator[pl.DataFrame]:
    """``frame`` in slices of ``batch_rows`` rows (one empty frame for an empty one)."""
    if frame.height == 0:
        yield frame
    for start in range(0, frame.height, batch_rows):
        yield frame.slice(start, batch_rows)


def stream_line_blocks(
    path: Path,
    what: str,
    *,
    batch_rows: int,
    columns: Sequence[str] | None,
    array: bool = False,
) -> Iterator[pl.DataFrame]:
    """Stream one-object-per-line JSON in blocks of :data:`BLOCK_BYTES` cut at line ends.

    Each block is parsed on its own (``pl.read_ndjson``) with the types of the
    first block; a block where a value does not fit them is parsed with the
    numeric columns as text, so that validation names the bad rows. With
    ``array``, the file is one JSON array: the brackets at its ends and the
    commas between objects are dropped first. Blocks come in file order, so row
    numbers hold.
    """
    schema: dict[str, pl.DataType] | None = None
    size = path.stat().st_size
    module = sys.modules[__name__]
    row = 1
    with reading(path, what), path.open("rb") as file:
        pending, first = bytearray(), True
        while True:
            searched = len(pending)
            pending += file.read(module.BLOCK_BYTES)  # amortised growth: linear in a long line
            last = file.tell() >= size
            if last:
                cut = len(pending)
            else:
                cut = pending.rfind(b"\n", searched) + 1  # only the new bytes are searched
                if cut == 0:
                    continue  # a line longer than a block: read on
            chunk = pending[:cut]
            del pending[:cut]
            if array and first and chunk:
                chunk, first = chunk.lstrip()[1:], False
            if array and last:
                chunk = chunk.rstrip()
                if not chunk.endswith(b"]"):
                    raise unreadable(path, what, "the array is not closed with ']'")
                chunk = chunk[:-1]
            parsed = parse_array_lines(chunk, schema) if array else parse_lines(chunk, schema)
            if parsed is not None:
                check_keys(chunk, parsed.height, path, first_row=row, lines=True)
                row += parsed.height
                schema = schema or dict(parsed.schema)
                if columns is not None:
                    parsed = parsed.select([c for c in columns if c in parsed.columns])
                yield from slices(parsed, batch_rows)
            if last:
                return


def parse_array_lines(
    chunk: bytes | bytearray, schema: dict[str, pl.DataType] | None
) -> pl.DataFrame | None:
    """:func:`parse_lines` for the objects of a one-object-per-line array (commas between)."""
    try:
        return parse_lines(drop_commas(chunk), schema)
    except pl.exceptions.ComputeError:  # spaces around a comma: the careful way
        return parse_lines(drop_commas_slowly(chunk), schema)


def parse_lines(
    chunk: bytes | bytearray, schema: dict[str, pl.DataType] | None
) -> pl.DataFrame | None:
    """Parse NDJSON bytes, with the types of the first block; text where a value does not fit.

    The first block's types come from its first 100 rows (fast), or from every
    row when a later value does not fit them.
    """
    if not chunk or chunk.isspace():  # (no copy, unlike strip)
        return None
    try:
        if schema is None:
            return pl.read_ndjson(io.BytesIO(chunk))
        return pl.read_ndjson(io.BytesIO(chunk), schema_overrides=schema)
    except pl.exceptions.ComputeError:
        quoted = BARE_NONFINITE.sub(rb'\1"\2"', chunk)
        if quoted != chunk:  # NaN / Infinity as text: validation reports them as not finite
            return parse_lines(quoted, schema)
        if schema is None:
            return pl.read_ndjson(io.BytesIO(chunk), infer_schema_length=None)
        text: dict[str, pl.DataType] = {n: pl.String() for n in schema if n in NUMERIC_NAMES}
        text[ID] = schema.get(ID, pl.String())
        return pl.read_ndjson(io.BytesIO(chunk), schema_overrides=text, infer_schema_length=None)
