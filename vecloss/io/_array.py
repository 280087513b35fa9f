"""A JSON array of objects, in any layout, as blocks of NDJSON for Polars' reader.

A raw newline cannot occur inside a JSON string, so every newline of a valid
document is whitespace: each becomes a space. Then the commas between the
array's objects become newlines, and each object is one line.

The fast way (:func:`ndjson_blocks`) guesses those commas: a ``}`` followed at
once by ``,``, which is how ``json.dump`` (pretty-printed or not), Polars,
pandas and most exporters write arrays. A wrong guess (a ``},`` inside a string
or a nested object) ends a line inside a string or an unbalanced object, which
no JSON parser accepts; a block that parses was therefore cut right, object by
object. A block that does not parse is done again the careful way
(:class:`Careful`): quotes (minding backslashes), brace depth and the commas at
depth zero, found with whole-block NumPy operations, the state carried from
block to block. Both ways read the file once, a block at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from vecloss.exceptions import InputError
from vecloss.io._errors import unreadable
from vecloss.schema import ID, REQUIRED

__all__ = ["COLON", "PASS_BYTES", "Block", "Careful", "count_byte", "ndjson_blocks", "restore"]

QUOTE, BACKSLASH, OPEN, CLOSE, COMMA, NEWLINE, RETURN, SPACE, COLON = b'"\\{},\n\r :'
#: Bytes rewritten per pass (:class:`_Rewrite`): the piece and its masks fit in L2.
PASS_BYTES = 1 << 18


def _fill(file: object, view: memoryview) -> int:
    """Read into ``view`` until it is full or the file ends; the bytes read."""
    got = 0
    while got < len(view) and (n := file.readinto(view[got:])):  # type: ignore[attr-defined]
        got += n
    return got


def count_byte(a: npt.NDArray[np.uint8], byte: int, marks: npt.NDArray[np.bool_]) -> int:
    """How many bytes of ``a`` are ``byte``: compared into ``marks`` (scratch the caller keeps),
    a piece of its length at a time, so that nothing is allocated and each piece is counted
    while it is in cache."""
    found = 0
    for lo in range(0, len(a), len(marks)):
        piece = a[lo : lo + len(marks)]
        found += int(np.count_nonzero(np.equal(piece, byte, out=marks[: len(piece)])))
    return found


def _found(head: bytes | bytearray) -> str:
    if not head:
        return "an empty file"
    return f"a document starting with {head[:1].decode(errors='replace')!r}"


#: An object's first key and the first character of its value.
_FIRST_KEY = re.compile(rb'\{\s*"((?:[^"\\]|\\.){0,200})"\s*:\s*(.)')


def _not_an_array(path: Path, what: str, head: bytes | bytearray) -> InputError:
    """The error for a document that is an object where the array of buildings should be,
    with how to get the array from the three ways people write one: the array under a key
    (``{"buildings": [...]}``), one list per column, or one object per id."""
    found = _FIRST_KEY.match(head)
    if found is None:
        return unreadable(path, what, f"found {_found(head)}")
    key, opens = found.group(1).decode(errors="replace"), found.group(2)
    if opens not in (b"[", b"{"):
        return unreadable(path, what, "found one object, not an array of them")
    if opens == b"[" and key in REQUIRED:
        shape = "an object of columns (each key a list of values)"
        how = "in Python: pl.DataFrame(json.load(open(path))).write_json(new_path)"
    elif opens == b"[":
        shape = f"an object whose {key!r} holds the array"
        how = f"in Python: pl.DataFrame(json.load(open(path))[{key!r}]).write_json(new_path)"
    else:
        shape = f"an object of objects ({key!r}: {{...}}, ...)"
        how = (
            "if they are keyed by the building's id, in Python: "
            f"pl.DataFrame([{{{ID!r}: k, **v}} for k, v in json.load(open(path)).items()])"
            ".write_json(new_path)"
        )
    msg = (
        f"{path}: cannot read {what}: found {shape}; hint: write the buildings as one array of "
        f"objects, each with its {ID} ({how})"
    )
    return InputError(msg)


def _solid(a: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Positions of the bytes that are not blanks (newlines are spaces by now)."""
    return np.flatnonzero((a != SPACE) & (a != ord("\t")))


def _first_solid(a: npt.NDArray[np.uint8]) -> int:
    """The first byte that is not blank (``len(a)`` if none), looked for near the start first."""
    for stop in (4096, len(a)):
        found = _solid(a[:stop])
        if len(found):
            return int(found[0])
    return len(a)


def _last_solid(a: npt.NDArray[np.uint8]) -> int:
    """The last byte that is not blank (-1 if none), looked for near the end first."""
    for start in (max(len(a) - 4096, 0), 0):
        found = _solid(a[start:])
        if len(found):
            return int(found[-1]) + start
    return -1


class Block(NamedTuple):
    """NDJSON made from an array: whole objects, one a line, and how many colons they hold."""

    data: bytes
    colons: int


class _Rewrite:
    """The per-byte work of :func:`ndjson_blocks`, in passes over L2-sized pieces: every
    newline (and return) a space, each ``,`` right after a ``}`` a newline, colons counted.

    Each pass is a NumPy ufunc into scratch kept from piece to piece: no allocation per
    block, and the piece stays in cache across its ten passes (the whole 8 MB block did
    not: 2x slower, measured). A rewritten byte is never a ``}``, so a piece can look at
    the byte before it whatever has already been rewritten.
    """

    def __init__(self) -> None:
        self._marks = np.empty(PASS_BYTES, np.uint8)
        self._closes = np.empty(PASS_BYTES, np.uint8)

    def __call__(self, a: npt.NDArray[np.uint8], start: int, *, returns: bool) -> int:
        """Rewrite ``a[start:]`` in place (``a[start - 1]`` is already done); its colons."""
        found = 0
        for lo in range(start, len(a), PASS_BYTES):
            hi = min(lo + PASS_BYTES, len(a))
            piece, marks = a[lo:hi], self._marks[: hi - lo]
            self._blank(piece, marks, NEWLINE)
            if returns:
                self._blank(piece, marks, RETURN)
            after = max(lo, 1)  # each byte that may be a separating comma, and the one before
            commas, closes = self._marks[: hi - after], self._closes[: hi - after]
            np.equal(a[after - 1 : hi - 1], CLOSE, out=closes.view(np.bool_))
            np.equal(a[after:hi], COMMA, out=commas.view(np.bool_))
            np.bitwise_and(commas, closes, out=commas)
            np.multiply(commas, np.uint8(COMMA ^ NEWLINE), out=commas)
            np.bitwise_xor(a[after:hi], commas, out=a[after:hi])
            found += count_byte(piece, COLON, marks.view(np.bool_))
        return found

    @staticmethod
    def _blank(piece: npt.NDArray[np.uint8], marks: npt.NDArray[np.uint8], byte: int) -> None:
        """Every ``byte`` of ``piece`` a space: XOR with ``byte ^ SPACE`` where it is
        (three branch-free passes: 4x faster than a masked copy when newlines are dense)."""
        np.equal(piece, byte, out=marks.view(np.bool_))  # (a uint8 out is cast: 4x slower)
        np.multiply(marks, np.uint8(byte ^ SPACE), out=marks)
        np.bitwise_xor(piece, marks, out=piece)


#: UTF-8's byte-order mark, which some editors write first: skipped, as Polars' CSV reader does.
BOM = b"\xef\xbb\xbf"


def ndjson_blocks(path: Path, what: str, block_bytes: int) -> Iterator[Block]:
    """Yield the array's objects as NDJSON, one block at a time, cut after a guessed comma.

    Each block's newlines become spaces and each ``},`` a ``}`` and a newline; the
    brackets at the ends become spaces. A block holds whole objects when the
    guesses are right (see the module's note); :func:`restore` gives its bytes
    back as JSON for :class:`Careful` when they were not. The file is read into
    one buffer, kept from block to block (it grows only for an object longer
    than a block); each block is one copy of it, as ``bytes``, which Polars
    reads without copying again.
    """
    rewrite = _Rewrite()
    buf = bytearray()
    held = held_colons = 0  # bytes (and their colons) carried to buf's start: the last object
    opened = False
    with path.open("rb", buffering=0) as file:
        while True:
            if len(buf) < held + block_bytes:
                buf.extend(bytes(held + block_bytes - len(buf)))
            got = _fill(file, memoryview(buf)[held : held + block_bytes])
            last = got < block_bytes
            n = held + got
            a = np.frombuffer(buf, np.uint8, count=n)
            returns = buf.find(b"\r", held, n) >= 0
            found = rewrite(a, held, returns=returns)
            if not opened:
                if not held and buf.startswith(BOM):  # a byte-order mark (hardening U6)
                    a[: len(BOM)] = SPACE
                start = _first_solid(a)
                if start == n and not last:
                    held = held_colons = 0  # only whitespace so far
                    del a
                    continue
                if start < n and buf[start] == ord("{"):
                    raise _not_an_array(path, what, bytes(buf[start : min(start + 4096, n)]))
                if start == n or buf[start] != ord("["):
                    raise unreadable(path, what, f"found {_found(buf[start : min(start + 1, n)])}")
                a[start] = SPACE
                opened = True
            if last:
                end = _last_solid(a)
                if end < 0 or buf[end] != ord("]"):
                    raise unreadable(path, what, "the array is not closed with ']'")
                a[end] = SPACE
                del a
                yield Block(bytes(memoryview(buf)[:n]), held_colons + found)
                return
            cut = buf.rfind(b"\n", 0, n) + 1  # after the last separator: newlines are no more
            if cut == 0:  # one object longer than a block: read on
                held, held_colons = n, held_colons + found
                del a
                continue
            left = int(np.count_nonzero(a[cut:n] == COLON))
            del a
            yield Block(bytes(memoryview(buf)[:cut]), held_colons + found - left)
            buf[: n - cut] = buf[cut:n]
            held, held_colons = n - cut, left


def restore(block: bytes | bytearray) -> bytearray:
    """A block of :func:`ndjson_blocks` as JSON again: its newlines back to the commas they
    were (every newline of the original is a space by then)."""
    out = bytearray(block)
    a = np.frombuffer(out, np.uint8)
    a[a == NEWLINE] = COMMA
    del a
    return out


class Careful:
    """Find the commas between an array's objects exactly, block after block.

    Fed the array's content (after ``[``) in pieces, it returns NDJSON of the
    whole objects seen so far: the commas outside every string and object turned
    into newlines. Strings are found by quote parity, a quote preceded by an odd
    run of backslashes being part of its string; the state (inside a string or
    not, a pending escape, the brace depth) carries over from piece to piece, so
    each byte is scanned once.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._in_string = False
        self._escaped = False  # the next byte is escaped (a backslash ended the last piece)
        self._depth = 0

    def feed(self, data: bytes | bytearray) -> bytearray | None:
        """Take the next piece; return the whole objects completed so far, if any."""
        start = len(self._pending)
        self._pending += data
        separators = self._scan(start)
        if len(separators) == 0:
            return None
        a = np.frombuffer(self._pending, np.uint8)
        a[separators] = NEWLINE
        del a
        cut = int(separators[-1]) + 1
        out = self._pending[:cut]
        del self._pending[:cut]
        return out

    def finish(self) -> bytearray:
        """The rest: the last object (a parser reports it if it is not whole)."""
        out, self._pending = self._pending, bytearray()
        return out

    def _scan(self, start: int) -> npt.NDArray[np.intp]:
        """Positions (in the pending bytes) of the separating commas among the bytes from
        ``start``; the state moves to the end of the pending bytes."""
        a = np.frombuffer(self._pending, np.uint8)[start:]
        n = len(a)
        special = (a == QUOTE) | (a == BACKSLASH) | (a == OPEN) | (a == CLOSE) | (a == COMMA)
        pos = np.flatnonzero(special)
        tok = a[pos]
        del a
        escaped = self._escaped_positions(pos[tok == BACKSLASH], n)
        quote = tok == QUOTE
        if len(escaped):
            quote &= ~np.isin(pos, escaped)
        parity = np.cumsum(quote) + int(self._in_string)
        outside = (parity % 2 == 0) & ~quote
        step = np.where(outside & (tok == OPEN), 1, 0) - np.where(outside & (tok == CLOSE), 1, 0)
        depth = np.cumsum(step) + self._depth
        separators: npt.NDArray[np.intp] = pos[outside & (tok == COMMA) & (depth == 0)] + start
        self._in_string = bool(parity[-1] % 2) if len(parity) else self._in_string
        self._depth = int(depth[-1]) if len(depth) else self._depth
        return separators

    def _escaped_positions(self, backslashes: npt.NDArray[np.intp], n: int) -> npt.NDArray[np.intp]:
        """Positions of the bytes escaped by a backslash; sets the escape carried onwards."""
        first: list[int] = []
        if self._escaped:  # the piece's first byte is escaped (a literal, even a backslash)
            first = [0]
            backslashes = backslashes[backslashes != 0]
        self._escaped = False
        if len(backslashes) == 0:
            return np.array(first, dtype=np.intp)
        breaks = np.flatnonzero(np.diff(backslashes) != 1) + 1
        ends = np.append(breaks, len(backslashes))
        lengths = np.diff(np.insert(ends, 0, 0))
        after = backslashes[ends - 1] + 1  # the byte after each run of backslashes
        hit = after[lengths % 2 == 1]  # an odd run escapes it
        if len(hit) and hit[-1] == n:
            self._escaped = True
            hit = hit[:-1]
        return np.concatenate([np.array(first, dtype=np.intp), hit])
