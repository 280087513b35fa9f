"""Stream text formats in bounded memory: CSV as text parsed batch by batch, NDJSON and JSON
arrays in blocks."""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.exceptions import InputError
from vecloss.io._ahead import WorkAhead, read_ahead
from vecloss.io._array import BOM, COLON, PASS_BYTES, Careful, count_byte, ndjson_blocks, restore
from vecloss.io._errors import reading, unreadable
from vecloss.schema import ID, NUMERIC, REQUIRED

__all__ = [
    "BLOCK_BYTES",
    "check_keys",
    "every_key_once",
    "file_colons",
    "parse_lines",
    "parse_numbers",
    "slices",
    "stream_array",
    "stream_line_blocks",
    "stream_text_parsed",
]

#: Bytes read at a time when streaming NDJSON or a JSON array: large enough for Polars to
#: parse on every core, small enough to stay bounded (measured on a 1M-object array:
#: 8-16 MB blocks are fastest; 2 MB blocks are 30 % slower).
BLOCK_BYTES = 8 << 20
# NaN and Infinity are not JSON, but Python's json module writes them.
BARE_NONFINITE = re.compile(rb"(?<=[\[:,])(\s*)(-?Infinity|NaN)(?=\s*[,\]\}])")
NUMERIC_NAMES = frozenset(c.name for c in NUMERIC)

#: Builds the lazy scan with these type overrides and a row index of this name.
Scan = Callable[[Mapping[str, pl.DataType], str], pl.LazyFrame]
POSITION = "__position"


def stream_text_parsed(
    scan: Scan, path: Path, what: str, *, batch_rows: int, columns: Sequence[str] | None
) -> Iterator[pl.DataFrame]:
    """Yield batches of ``scan``'s frame with the numeric columns parsed as Float64.

    The file is read with the numeric columns as text, and each batch's column is parsed
    here (``str.strip_chars().cast(Float64)``, as validation parses text): when a value of
    a column does not parse, that batch keeps the column as text, so that validation names
    each bad row (``not_numeric``) instead of the whole file failing. ``buildingId`` keeps
    the type the reader infers. Every batch is checked, by the reader's own row index, to be
    the next rows of the file, so that no row is given twice or skipped.

    (Reading the numbers typed and going on as text from the first value that does not
    parse was 25-40 % faster, but Polars 2.1's streaming reader can give a batch whose
    columns do not line up, ids beside another row's values, when the query fails later
    on a value that does not parse: measured on 10 of 30 reads of a 20,000-row file.)
    """
    done = 0
    with reading(path, what):
        text = scan({c.name: pl.String() for c in NUMERIC}, POSITION)
        wanted = [POSITION, *_present(text, columns)]
        numbers = [c.name for c in NUMERIC if c.name in wanted]
        for batch in text.select(wanted).collect_batches(chunk_size=batch_rows):
            if batch.height and not _follows(batch[POSITION], done):
                msg = "the reader gave rows out of order; hint: convert the file to Parquet"
                raise unreadable(path, what, msg)
            done += batch.height
            yield parse_numbers(batch.drop(POSITION), numbers)
        if done == 0:
            yield parse_numbers(text.select(wanted[1:]).head(0).collect(), numbers)


def parse_numbers(batch: pl.DataFrame, numbers: Sequence[str]) -> pl.DataFrame:
    """``batch`` with each text column of ``numbers`` as Float64 where all its values parse."""
    parsed = batch.select(
        pl.col(name).str.strip_chars().cast(pl.Float64, strict=False) for name in numbers
    )
    kept = [
        parsed[name] for name in numbers if parsed[name].null_count() == batch[name].null_count()
    ]
    return batch.with_columns(kept) if kept else batch


def _follows(positions: pl.Series, done: int) -> bool:
    """Whether ``positions`` are exactly the rows ``done``, ``done + 1``, ... in order."""
    first, last = positions[0], positions[-1]
    return bool(first == done and last == done + positions.len() - 1 and positions.is_sorted())


def _present(frame: pl.LazyFrame, columns: Sequence[str] | None) -> list[str]:
    names = [n for n in frame.collect_schema().names() if n != POSITION]
    return names if columns is None else [c for c in columns if c in names]


def colons(data: bytes | bytearray) -> int:
    """How many colons ``data`` holds."""
    return count_byte(np.frombuffer(data, np.uint8), COLON, np.empty(PASS_BYTES, np.bool_))


def file_colons(path: Path) -> int:
    """How many colons the file holds: read in blocks into one buffer and counted (NumPy,
    which lets other threads run, as Polars' reader does)."""
    buf = bytearray(BLOCK_BYTES)
    a = np.frombuffer(buf, np.uint8)
    marks = np.empty(PASS_BYTES, np.bool_)
    found = 0
    with path.open("rb", buffering=0) as file:
        while got := file.readinto(buf):
            found += count_byte(a[:got], COLON, marks)
    return found


def every_key_once(colons: int, parsed: pl.DataFrame) -> bool:
    """Whether the NDJSON that gave ``parsed`` (and held ``colons`` colons) gave every key once
    on every line: as many colons as values, and no value null (each line gave each key at
    least once, and no colon is left for a repeated or an extra key)."""
    return colons == parsed.height * parsed.width and not any(parsed.null_count().row(0))


def check_keys(
    data: bytes | bytearray,
    parsed: pl.DataFrame,
    path: Path,
    *,
    first_row: int,
    counted: int | None = None,
) -> bool:
    """Refuse an object that gives a schema key twice (``{"p": 0.1, ..., "p": 5}``): Polars
    keeps the first value and Python's json the last, so no answer would be the right one.
    True when the colons alone showed every object gave every key once.

    ``data`` is NDJSON (one object a line) and ``parsed`` what Polars made of it.
    First one NumPy count of the colons (``counted``, when the caller made it):
    when there are exactly as many colons as values in a frame without nulls,
    every object gave every key once (each gave each key at least once, and
    there is no colon left for a repeat). Otherwise each key is counted
    (``"name":``) and, only when one is over-counted, its row looked for.
    """
    if every_key_once(colons(data) if counted is None else counted, parsed):
        return True
    escaped = _escaped_keys(data)
    for name in REQUIRED:
        key = f'"{name}"'.encode()
        if _keys(data, key) + escaped[name] <= parsed.height:
            continue
        where = _repeated_row(data, key, name)
        row = f"row {first_row + where}" if where is not None else "an object"
        msg = (
            f"{path}: {row} gives the key {name!r} more than once; hint: keep one value per "
            "key (JSON readers disagree on which one wins)"
        )
        raise InputError(msg)
    return False


def _keys(data: bytes | bytearray, quoted: bytes) -> int:
    """How many keys ending in ``quoted`` (``b'"name"'``; ``b'"'``: any key) ``data`` gives,
    written ``"name":`` or ``"name" :``."""
    return data.count(quoted + b":") + data.count(quoted + b" :")


#: A key spelled with a ``\\uXXXX`` escape (``"hazard_probabilit\\u0079":``), which JSON
#: readers decode before they compare keys.
_ESCAPED_KEY = re.compile(rb'"((?:[^"\\\n]|\\.)*?\\u[0-9A-Fa-f]{4}(?:[^"\\\n]|\\.)*?)"\s*:')


def _escaped_keys(data: bytes | bytearray) -> collections.Counter[str]:
    """How many times each key written with an escape is given, by its decoded name
    (hardening D5: a repeat through an escape is a repeat). One regex search of the block,
    and a step per escaped key only, which files seldom have."""
    found: collections.Counter[str] = collections.Counter()
    if b"\\u" not in data:
        return found
    for match in _ESCAPED_KEY.finditer(data):
        with contextlib.suppress(ValueError):
            found[json.loads(b'"' + match.group(1) + b'"')] += 1
    return found


def _repeated_row(data: bytes | bytearray, key: bytes, name: str) -> int | None:
    """The 0-based row of the first object that repeats ``key`` (the error path only)."""
    objects = (line for line in bytes(data).split(b"\n") if line.strip(b" \t\r,[]"))
    for index, line in enumerate(objects):  # one step per row, only once a repeat is known
        if _keys(line, key) + _escaped_keys(line)[name] > 1:
            return index
    return None


def slices(frame: pl.DataFrame, batch_rows: int) -> Iterator[pl.DataFrame]:
    """``frame`` in slices of ``batch_rows`` rows (one empty frame for an empty one)."""
    if frame.height == 0:
        yield frame
    for start in range(0, frame.height, batch_rows):
        yield frame.slice(start, batch_rows)


def _line_chunks(path: Path) -> Iterator[bytearray]:
    """NDJSON in blocks of :data:`BLOCK_BYTES` cut at line ends (a longer line: read on)."""
    size = path.stat().st_size
    module = sys.modules[__name__]
    with path.open("rb") as file:
        pending = bytearray()
        first = True
        while True:
            searched = len(pending)
            pending += file.read(module.BLOCK_BYTES)  # amortised growth: linear in a long line
            if first and pending.startswith(BOM):  # a byte-order mark is skipped (U6)
                del pending[: len(BOM)]
            first = False
            if file.tell() >= size:
                yield pending
                return
            cut = pending.rfind(b"\n", searched) + 1  # only the new bytes are searched
            if cut:
                yield pending[:cut]
                del pending[:cut]


class _Batches:
    """Parsed blocks as batches: the first block's types for the rest, rows counted (so
    that a repeated key is named by its row), the columns asked for, slices."""

    def __init__(
        self, path: Path, what: str, *, batch_rows: int, columns: Sequence[str] | None
    ) -> None:
        self.path, self.what, self.batch_rows, self.columns = path, what, batch_rows, columns
        self.schema: dict[str, pl.DataType] | None = None
        self.row = 1

    def parse(self, chunk: bytes | bytearray) -> pl.DataFrame | None:
        try:
            return parse_lines(chunk, self.schema)
        except pl.exceptions.PolarsError as exc:
            if "supertype" in str(exc):
                mixed = "a key holds incompatible kinds of value (say numbers and lists)"
                raise unreadable(self.path, self.what, mixed) from exc
            raise

    def _every_key(self, chunk: bytes | bytearray, parsed: pl.DataFrame) -> pl.DataFrame:
        """``parsed``, or the block parsed again with its keys from every object when it holds
        more keys than ``parsed`` has values: Polars takes a call's keys from its first 100
        objects, and a key that only a later object gives would be dropped without a word."""
        if _keys(chunk, b'"') <= parsed.height * parsed.width:
            return parsed
        try:
            fuller = pl.read_ndjson(
                io.BytesIO(chunk),
                schema_overrides=dict(parsed.schema),
                infer_schema_length=None,
            )
        except pl.exceptions.PolarsError:
            return parsed
        return fuller if set(fuller.columns) > set(parsed.columns) else parsed

    def emit(
        self, chunk: bytes | bytearray, parsed: pl.DataFrame | None, counted: int | None = None
    ) -> Iterator[pl.DataFrame]:
        if parsed is None:
            return
        if not check_keys(chunk, parsed, self.path, first_row=self.row, counted=counted):
            parsed = self._every_key(chunk, parsed)
        self.row += parsed.height
        if self.schema is None:
            self.schema = dict(parsed.schema)
        elif parsed.columns != list(self.schema) and set(parsed.columns) == set(self.schema):
            parsed = parsed.select(list(self.schema))  # the keys in another order
        if self.columns is not None:
            parsed = parsed.select([c for c in self.columns if c in parsed.columns])
        yield from slices(parsed, self.batch_rows)


def stream_line_blocks(
    path: Path, what: str, *, batch_rows: int, columns: Sequence[str] | None
) -> Iterator[pl.DataFrame]:
    """Stream NDJSON in blocks of :data:`BLOCK_BYTES` cut at line ends.

    Each block is parsed on its own (``pl.read_ndjson``) with the types of the
    first block; a block where a value does not fit them is parsed with the
    numeric columns as text, so that validation names the bad rows. Blocks are
    parsed a few at a time (:class:`~vecloss.io._ahead.WorkAhead`) and come in
    file order, so row numbers hold.
    """
    batches = _Batches(path, what, batch_rows=batch_rows, columns=columns)
    with reading(path, what):
        for chunk, parsed in WorkAhead(_line_chunks(path), batches.parse):
            yield from batches.emit(chunk, parsed.result())


def stream_array(
    path: Path, what: str, *, batch_rows: int, columns: Sequence[str] | None
) -> Iterator[pl.DataFrame]:
    """Stream a JSON array of objects, in any layout, as :func:`stream_line_blocks` does NDJSON.

    The blocks are made (:func:`vecloss.io._array.ndjson_blocks`) on a thread while
    Polars parses the ones before, a few at a time (:class:`~vecloss.io._ahead.WorkAhead`).
    From the first block that does not parse, the
    rest of the file is cut the careful way (:class:`vecloss.io._array.Careful`);
    a block that still does not parse is the file's error. An empty array gives
    one empty frame.
    """
    module = sys.modules[__name__]
    batches = _Batches(path, what, batch_rows=batch_rows, columns=columns)
    with reading(path, what):
        blocks = read_ahead(ndjson_blocks(path, what, module.BLOCK_BYTES))
        parsing = WorkAhead(blocks, lambda block: batches.parse(block.data))
        for (block, counted), outcome in parsing:
            try:
                parsed = outcome.result()
            except pl.exceptions.ComputeError:
                rest = itertools.chain([block], (b.data for b in parsing.rest()))
                yield from _carefully(rest, batches)
                break
            yield from batches.emit(block, parsed, counted)
        if batches.row == 1:
            yield pl.DataFrame()


def _carefully(blocks: Iterator[bytes], batches: _Batches) -> Iterator[pl.DataFrame]:
    careful = Careful()
    for block in blocks:
        chunk = careful.feed(restore(block))
        if chunk is not None:
            yield from batches.emit(chunk, batches.parse(chunk))
    chunk = careful.finish()
    yield from batches.emit(chunk, batches.parse(chunk))


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
        if ID in schema:  # (a file without ids is told so by the column check)
            text[ID] = schema[ID]
        return pl.read_ndjson(io.BytesIO(chunk), schema_overrides=text, infer_schema_length=None)
