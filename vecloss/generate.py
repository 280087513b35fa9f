"""Seeded synthetic portfolios, written chunk by chunk in any supported format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from vecloss.exceptions import UsageError
from vecloss.io.sink import Output

__all__ = ["CHUNK_ROWS", "generate", "iter_portfolio", "portfolio"]

#: Rows generated at once; fixed so that (rows, seed) always gives the same data.
CHUNK_ROWS = 1_000_000


#: Column: (low, high, decimals), each drawn uniformly from its own stream.
RANGES = {
    "floor_area": (50.0, 20_000.0, 1),
    "construction_cost": (300.0, 6_000.0, 2),
    "hazard_probability": (0.0, 0.6, 4),
    "inflation_rate": (-0.01, 0.09, 4),
}


def _chunk(seed: np.random.SeedSequence, first_id: int, rows: int) -> pl.DataFrame:
    data = {"buildingId": np.arange(first_id, first_id + rows, dtype=np.int64)}
    for stream, (name, (low, high, decimals)) in zip(
        seed.spawn(len(RANGES)), RANGES.items(), strict=True
    ):
        data[name] = np.round(np.random.default_rng(stream).uniform(low, high, rows), decimals)
    return pl.DataFrame(data)


def iter_portfolio(rows: int, *, seed: int = 0) -> Iterator[pl.DataFrame]:
    """Yield a synthetic portfolio of ``rows`` buildings in chunks of :data:`CHUNK_ROWS`.

    Ids run from 1; floor area 50-20,000 m2, construction cost 300-6,000
    (currency units, the building's cost as the formulas take it: not multiplied
    by the floor area), hazard probability 0-0.6, inflation -1 %-9 %, all
    uniform. Chunk k draws from its own stream of ``seed``, so a prefix of a
    larger portfolio is the smaller one.
    """
    if rows < 0:
        msg = f"the number of buildings must be >= 0, got {rows}"
        raise UsageError(msg)
    streams = np.random.SeedSequence(seed)
    for start in range(0, rows, CHUNK_ROWS):
        yield _chunk(streams.spawn(1)[0], start + 1, min(CHUNK_ROWS, rows - start))


def portfolio(rows: int, *, seed: int = 0) -> pl.DataFrame:
    """A synthetic portfolio in memory (see :func:`iter_portfolio`)."""
    chunks = list(iter_portfolio(rows, seed=seed))
    return pl.concat(chunks, rechunk=True) if chunks else _chunk(np.random.SeedSequence(seed), 1, 0)


def generate(rows: int, path: str | Path, *, seed: int = 0) -> Path:
    """Write a synthetic portfolio to ``path`` (format by suffix), atomically."""
    with Output(path) as out:
        wrote = False
        for chunk in iter_portfolio(rows, seed=seed):
            out.write(chunk)
            wrote = True
        if not wrote:
            out.write(_chunk(np.random.SeedSequence(seed), 1, 0))
    return Path(path)
