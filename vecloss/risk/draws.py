"""Random draws keyed by ids: the same bits on any machine, in any batch, in any row order.

A building's draws (or a shared group's) come from a counter-based generator:
the ``k``-th draw of a stream is ``mix(key + k * GAMMA)``, which is exactly the
k-th output of SplitMix64 (Steele, Lea & Flood, 2014) started at ``key``. The
key is a 64-bit hash of the id value and the seed, so a draw depends on the
seed, the id and the draw number only: never on where the row stands, how the
input is batched or which worker reads it.

Id values are hashed by value and kind: integers (any width) by their int64
value, strings by their UTF-8 bytes (a polynomial hash of the bytes, then
mixed), anything else by its Polars string form; null is one more value. Two
distinct ids share a stream only on a 64-bit hash collision (probability about
n**2 / 2**65 for n ids).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["U64", "UNIT", "draws", "mix", "stream_keys", "value_keys"]

U64 = npt.NDArray[np.uint64]

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_BYTE = np.uint64(0x100000001B3)  # the FNV-1a prime: the base of the byte polynomial
_INT, _STR, _NULL = np.uint64(0x1D), np.uint64(0x5C), np.uint64(0x7E57)
#: One draw is a 53-bit integer ``U``; the uniform is ``(U + 1) * UNIT``, in (0, 1].
UNIT = 2.0**-53


def mix(z: U64) -> U64:
    """SplitMix64's output function: a bijection of uint64 that spreads every bit (a new array)."""
    z = z + GAMMA
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def draws(keys: U64, counters: U64) -> U64:
    """The ``counters``-th draws of the streams ``keys`` (broadcast): integers in [0, 2**53)."""
    return mix(keys + counters * GAMMA) >> np.uint64(11)


def stream_keys(values: U64, seed: int, stream: int) -> U64:
    """Stream keys from value keys, a seed in [0, 2**64) and a stream number (one per use)."""
    salt = mix(np.array([seed], dtype=np.uint64) ^ mix(np.array([stream], dtype=np.uint64)))
    return mix(values ^ salt)


def value_keys(series: pl.Series) -> U64:
    """A 64-bit key per value of ``series``, equal for equal values of one kind."""
    dtype = series.dtype
    if dtype == pl.Boolean:
        series = series.cast(pl.Int8)
        dtype = series.dtype
    if dtype.is_integer():
        raw = series.to_numpy(allow_copy=True)
        if series.null_count():
            raw = series.fill_null(0).to_numpy()
        keys = mix(raw.astype(np.int64, copy=False).view(np.uint64) ^ _INT)
    else:
        keys = _string_keys(series.cast(pl.String))
    if series.null_count():
        keys[series.is_null().to_numpy()] = mix(np.array([_NULL], dtype=np.uint64))[0]
    return keys


def _string_keys(series: pl.Series) -> U64:
    """Hash each string's UTF-8 bytes: sum of (byte + 1) * BYTE**position, wrapping, then mixed."""
    import pyarrow as pa  # (loaded on first use: not at ``import vecloss``)

    chunked = series.to_arrow()
    arr = chunked.cast(pa.large_string())  # (pyarrow.compute loads here, not at import)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) > _STRING_BLOCK:  # (a block at a time: its byte arrays take 40 bytes a byte)
        blocks = range(0, len(arr), _STRING_BLOCK)
        return np.concatenate([_arrow_keys(arr.slice(at, _STRING_BLOCK)) for at in blocks])
    return _arrow_keys(arr)


#: Strings hashed a block at a time by :func:`_string_keys`: 65,536 ids of 13 characters take
#: some 35 MB of working arrays, a million at once took 260 MB more (the streamed risk run).
_STRING_BLOCK = 1 << 16


def _arrow_keys(arr: Any) -> U64:
    """:func:`_string_keys` of one Arrow large-string array (its offset honoured)."""
    n = len(arr)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    lengths = np.diff(offsets)
    start = int(offsets[0]) if n else 0
    size = int(offsets[-1]) - start if n else 0
    sums = np.zeros(n, dtype=np.uint64)
    if size:
        data = np.frombuffer(buffers[2], dtype=np.uint8)[start : start + size].astype(np.uint64)
        begins = offsets[:-1] - start
        position = np.arange(size, dtype=np.int64) - np.repeat(begins, lengths)
        powers = np.cumprod(np.full(int(lengths.max()), _BYTE, dtype=np.uint64))
        powers = np.concatenate([np.ones(1, dtype=np.uint64), powers[:-1]])
        terms = (data + np.uint64(1)) * powers[position]
        filled = lengths > 0
        sums[filled] = np.add.reduceat(terms, begins[filled])
    return mix(sums ^ mix(lengths.astype(np.uint64) ^ _STR))
