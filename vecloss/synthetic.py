"""Seeded synthetic portfolios shaped like real ones, made chunk by chunk, in any format.

What :func:`portfolio` (a frame) and :func:`generate` (a file) make, row ``k`` (0-based) of
``rows``, with ``seed``:

- ``buildingId``: by ``ids``:

  - ``"strings"`` (the default): ``"LOC-"`` and nine digits, in no particular order
    (``(k * 618,033,989 + 123,456,789) mod 10**9``: unique for up to 10**9 buildings, and a
    prefix of a larger portfolio is the smaller one);
  - ``"shuffled"``: the integers 1 to ``rows``, each once, in no particular order
    (``(k * a) mod rows + 1`` for an ``a`` near 0.618 * ``rows`` with no factor in common
    with it);
  - ``"sorted"``: the integers 1 to ``rows`` in order.

- ``region``: one of eight names, some far more common than others (:data:`REGIONS`).
- ``floor_area`` (m2): log-normal, median 1,200, clipped to 30-50,000, 1 decimal.
- ``construction_cost`` (currency, the whole building's cost, as the formulas take it):
  the floor area times a log-normal cost per m2 (median 1,800), 2 decimals.
- ``hazard_probability``: Beta(0.5, 49.5), mean 1 %: most buildings are rarely hit (median
  0.45 %), a few often (1 in 100 above 7 %), 6 decimals.
- ``inflation_rate``: normal, mean 2.5 %, SD 1 %, clipped to -1 %-9 %, 4 decimals.

Chunk ``j`` of :data:`CHUNK_ROWS` rows draws from its own stream of ``seed``, so the same
seed gives the same portfolio whatever is done with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from vecloss.exceptions import UsageError
from vecloss.io.sink import Output

__all__ = ["CHUNK_ROWS", "ID_KINDS", "REGIONS", "generate", "iter_portfolio", "portfolio"]

#: Rows generated at once; fixed so that (rows, seed) always gives the same data.
CHUNK_ROWS = 1_000_000

IdKind = Literal["strings", "shuffled", "sorted"]
ID_KINDS: tuple[str, ...] = ("strings", "shuffled", "sorted")

#: Region names and their shares of the buildings.
REGIONS = {
    "north": 0.30,
    "south": 0.22,
    "east": 0.16,
    "west": 0.12,
    "coast": 0.09,
    "valley": 0.06,
    "islands": 0.03,
    "highlands": 0.02,
}

_STRING_SPAN = 10**9
_STRING_STEP = 618_033_989  # no factor in common with 10**9: k -> id is one-to-one
_STRING_SHIFT = 123_456_789
_SHUFFLED_MOST = 3 * 10**9  # k * step < rows**2 stays within int64


def _step(rows: int) -> int:
    """A multiplier near 0.618 * ``rows`` with no factor in common with it."""
    step = max(1, round(rows * 0.6180339887))
    while math.gcd(step, rows) != 1:
        step += 1
    return step


def _ids(kind: str, first: int, count: int, rows: int) -> pl.Series:
    k = np.arange(first, first + count, dtype=np.int64)  # k * step < 2**63: see _check
    if kind == "sorted":
        return pl.Series("buildingId", k + 1)
    if kind == "shuffled":
        return pl.Series("buildingId", k * _step(rows) % max(rows, 1) + 1)
    numbers = pl.Series("n", (k * _STRING_STEP + _STRING_SHIFT) % _STRING_SPAN)
    return pl.select(
        pl.concat_str(pl.lit("LOC-"), numbers.cast(pl.String).str.zfill(9)).alias("buildingId")
    ).to_series()


def _chunk(
    seed: np.random.SeedSequence, first: int, count: int, rows: int, ids: str
) -> pl.DataFrame:
    area_s, cost_s, prob_s, infl_s, region_s = (np.random.default_rng(s) for s in seed.spawn(5))
    area = np.clip(area_s.lognormal(math.log(1_200), 0.9, count), 30, 50_000)
    per_m2 = cost_s.lognormal(math.log(1_800), 0.35, count)
    regions = list(REGIONS)
    frame = pl.DataFrame(
        {
            "buildingId": _ids(ids, first, count, rows),
            "region": pl.Series(
                region_s.choice(len(regions), count, p=list(REGIONS.values())), dtype=pl.UInt8
            ).replace_strict(dict(enumerate(regions)), return_dtype=pl.String),
            "floor_area": np.round(area, 1),
            "construction_cost": np.round(area * per_m2, 2),
            "hazard_probability": np.round(prob_s.beta(0.5, 49.5, count), 6),
            "inflation_rate": np.round(np.clip(infl_s.normal(0.025, 0.01, count), -0.01, 0.09), 4),
        }
    )
    return frame


def _check(rows: int, ids: str) -> None:
    if rows < 0:
        msg = f"the number of buildings must be >= 0, got {rows}"
        raise UsageError(msg)
    if ids not in ID_KINDS:
        msg = f"ids must be one of {', '.join(ID_KINDS)}, got {ids!r}"
        raise UsageError(msg)
    most = {"strings": _STRING_SPAN, "shuffled": _SHUFFLED_MOST}.get(ids)
    if most is not None and rows > most:
        msg = f"{ids} ids are made for up to {most:,} buildings; hint: ids='sorted'"
        raise UsageError(msg)


def iter_portfolio(rows: int, *, seed: int = 0, ids: IdKind = "strings") -> Iterator[pl.DataFrame]:
    """Yield a synthetic portfolio of ``rows`` buildings in chunks of :data:`CHUNK_ROWS`
    (the columns and their distributions: this module's documentation)."""
    _check(rows, ids)
    streams = np.random.SeedSequence(seed)
    for start in range(0, rows, CHUNK_ROWS):
        yield _chunk(streams.spawn(1)[0], start, min(CHUNK_ROWS, rows - start), rows, ids)


def portfolio(rows: int, *, seed: int = 0, ids: IdKind = "strings") -> pl.DataFrame:
    """A realistic synthetic portfolio of ``rows`` buildings, as a Polars DataFrame.

    ``ids``: ``"strings"`` (``"LOC-012345678"``, in no particular order; the default),
    ``"shuffled"`` (the integers 1 to ``rows`` in no particular order) or ``"sorted"``.
    The columns and their distributions: :mod:`vecloss.synthetic`.

    >>> import vecloss
    >>> frame = vecloss.portfolio(1_000, seed=1)
    >>> frame.columns[:3]
    ['buildingId', 'region', 'floor_area']
    >>> 0.005 < frame["hazard_probability"].mean() < 0.02
    True
    """
    chunks = list(iter_portfolio(rows, seed=seed, ids=ids))
    if not chunks:
        return _chunk(np.random.SeedSequence(seed), 0, 0, 0, ids)
    return pl.concat(chunks, rechunk=True)


def generate(rows: int, path: str | Path, *, seed: int = 0, ids: IdKind = "strings") -> Path:
    """Write :func:`portfolio` ``(rows, seed=seed, ids=ids)`` to ``path`` (format by suffix),
    chunk by chunk, atomically: the file appears whole or not at all."""
    _check(rows, ids)
    with Output(path) as out:
        wrote = False
        for chunk in iter_portfolio(rows, seed=seed, ids=ids):
            out.write(chunk)
            wrote = True
        if not wrote:
            out.write(_chunk(np.random.SeedSequence(seed), 0, 0, 0, ids))
    return Path(path)
