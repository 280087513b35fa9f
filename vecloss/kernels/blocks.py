"""The vectorized kernel: whole columns in cache-sized blocks, on threads.

Each block runs the NumPy kernels of :mod:`vecloss.formulas` (one ufunc per
operation, temporaries in the block's own slice of the output) followed by
the fused schema checks (:func:`vecloss.checks.rules.block_ok`), or, when the
run asked for it (:func:`use_jit`), one fused compiled loop of
:mod:`vecloss.kernels.compiled` (the formula and the checks in one pass,
Numba, the optional ``jit`` extra). Both release the GIL, so the blocks are
split across a few threads.
"""

from __future__ import annotations

import bisect
import importlib.util
import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from vecloss import formulas
from vecloss.checks.ids import rises
from vecloss.checks.rules import block_ok
from vecloss.formulas import INPUTS, FloatArray, Formula, discount_factor
from vecloss.kernels.threads import BLOCK_ROWS, for_each_block
from vecloss.schema import NUMERIC

__all__ = [
    "BLOCK_ROWS",
    "JIT_MIN_ROWS",
    "JIT_MIN_ROWS_IN_MEMORY",
    "FusedLoss",
    "checked_losses",
    "for_each_block",
    "jit_available",
    "use_jit",
    "vectorized_losses",
]

#: Rows from which the compiled kernels pay for loading Numba in a fresh process.
#: Measured on the project's machine (benchmarks/RESULTS.md, "Where the compiled kernels
#: pay"): importing Numba and loading the cached kernels costs 0.43-0.50 s once per process
#: (about 3 s more the first time, to compile them); they save 1.2-2.3 ms per million rows
#: (complex) and 3.5 ms (simple) over the blocked NumPy kernels. Break-even: 130M-400M rows.
JIT_MIN_ROWS = 200_000_000

#: Rows from which a frame already in memory (``vecloss.losses``) takes the compiled kernels.
#: Such a frame lives in a session (a notebook, a service) that computes on it again and
#: again: Numba's load is paid once per process (~0.45 s, at the first such call) and each
#: call of 10M rows then saves 15-22 ms (``vecloss bench --targets`` shows both in one run).
JIT_MIN_ROWS_IN_MEMORY = 10_000_000


def jit_available() -> bool:
    """Whether the optional ``jit`` extra (Numba) is installed; nothing is imported."""
    return importlib.util.find_spec("numba") is not None


def use_jit(rows: int | None, *, in_memory: bool = False) -> bool:
    """Whether a run of ``rows`` rows (None: not known up front) uses the compiled kernels.

    Decided once per run, from what is known before the first batch, so that
    a run's bits never depend on how it is cut into batches. The environment
    variable ``VECLOSS_JIT`` overrides: ``0`` never, ``1`` always (when
    Numba is installed); unset, from :data:`JIT_MIN_ROWS` rows, or
    :data:`JIT_MIN_ROWS_IN_MEMORY` for a frame already in memory.
    """
    setting = os.environ.get("VECLOSS_JIT", "")
    least = JIT_MIN_ROWS_IN_MEMORY if in_memory else JIT_MIN_ROWS
    wanted = setting == "1" or (setting != "0" and rows is not None and rows >= least)
    return wanted and jit_available()  # (looked up only when wanted: it costs ~0.2 ms)


@cache
def _compiled_module() -> Any:
    from vecloss.kernels import compiled as module  # Numba loads here, only when asked for

    return module


@cache
def _compiled_twin(path: str) -> Any:
    """A formula's compiled twin, ``module:function`` (Numba loads here, only when asked for)."""
    module_name, _, name = path.partition(":")
    return getattr(importlib.import_module(module_name), name)


@cache
def _bounds() -> tuple[FloatArray, FloatArray]:
    """Each input column's inclusive bounds, in :data:`INPUTS` order (NaN fails both)."""
    by_name = {c.name: c for c in NUMERIC}
    largest = np.finfo(np.float64).max
    low = [
        np.nextafter(by_name[n].low, np.inf) if by_name[n].low_open else by_name[n].low
        for n in INPUTS
    ]
    high = [by_name[n].high if np.isfinite(by_name[n].high) else largest for n in INPUTS]
    return np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)


#: Outputs from this many rows come from Arrow's memory pool (mimalloc or jemalloc), which
#: keeps freed memory for the next call: a fresh 80 MB NumPy array costs ~7 ms of page
#: faults at 10M rows (measured), a pooled one ~0.2 ms once the last result is freed.
ARROW_POOL_ROWS = 1 << 20


def _output(rows: int) -> FloatArray:
    if rows < ARROW_POOL_ROWS:
        return np.empty(rows, dtype=np.float64)
    import pyarrow as pa

    return np.frombuffer(pa.allocate_buffer(rows * 8), dtype=np.float64)


def _read_only(column: FloatArray) -> FloatArray:
    """A contiguous, read-only float64 view: one compiled specialization for every input."""
    view = np.ascontiguousarray(column, dtype=np.float64).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class FusedLoss:
    """A loss column and what the fused checks found."""

    loss: FloatArray
    ok: bool  # every row keeps every numeric rule and has a finite loss
    increasing: bool  # the ids were checked and each is greater than the one before
    inflation_above_one: bool = False  # (checked runs) some inflation rate is above 1


#: A column as one array, or as its chunks (NumPy views of an Arrow column's chunks: no copy).
Chunks = FloatArray | Sequence[FloatArray]


def checked_losses(
    columns: Mapping[str, Chunks],
    *,
    ids: npt.NDArray[np.int64] | Sequence[npt.NDArray[np.int64]] | None = None,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
    jit: bool | None = None,
) -> FusedLoss:
    """The loss column, and whether every row keeps the numeric rules, in one fused pass.

    ``columns`` maps the formula's numeric columns (float64, no nulls) by name,
    each one array or a list of chunks (every column, and ``ids``, cut alike);
    ``jit`` picks the compiled kernels (None: only with ``VECLOSS_JIT=1``).
    ``ids``, integer ids as int64, are checked for increasing order on the way.
    Each block is checked while it is in cache:
    inside the compiled loop, or by :func:`vecloss.checks.rules.block_ok` after the
    NumPy kernel. The loss comes back as one array.
    """
    spec = formulas.get(formula)
    inputs = [columns[name] for name in spec.inputs]
    return _blocked(inputs, spec, years, discount_rate, workers, jit, check=True, ids=ids)


def vectorized_losses(
    columns: Sequence[Chunks] | Mapping[str, Chunks],
    *,
    formula: str | Formula = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
    workers: int | None = None,
    jit: bool | None = None,
) -> FloatArray:
    """The loss of every building, from the formula's input columns (by name, or in
    :attr:`Formula.inputs` order: cost, area, probability, inflation, then the formula's
    extra columns), each one array or its chunks, as in :func:`checked_losses`.

    The compiled kernels with ``jit`` (their checks ignored: a row that
    breaks a rule gets whatever the formula gives, NaN for NaN input), else
    the NumPy kernels.
    """
    spec = formulas.get(formula)
    inputs = [columns[n] for n in spec.inputs] if isinstance(columns, Mapping) else list(columns)
    return _blocked(inputs, spec, years, discount_rate, workers, jit, check=False, ids=None).loss


def _layout(
    columns: Sequence[Chunks], ids: Any
) -> tuple[list[list[FloatArray]], list[npt.NDArray[np.int64]] | None, list[int]]:
    """Every column (and the ids) as its non-empty chunks, and where each chunk starts (then
    the end): raise if the columns are not cut alike."""
    if all(isinstance(c, np.ndarray) for c in columns) and not isinstance(ids, list | tuple):
        arrays = cast("list[FloatArray]", columns)
        return [[c] for c in arrays], None if ids is None else [ids], [0, len(arrays[0])]
    chunked = [[c] if isinstance(c, np.ndarray) else list(c) for c in columns]
    id_chunks = None if ids is None else [ids] if isinstance(ids, np.ndarray) else list(ids)
    lengths = [len(chunk) for chunk in chunked[0]]
    every = chunked if id_chunks is None else [*chunked, id_chunks]
    if any([len(c) for c in column] != lengths for column in every):
        msg = "the columns' chunks differ in length; cut every column alike"
        raise ValueError(msg)
    used = [k for k, rows in enumerate(lengths) if rows]
    chunked = [[column[k] for k in used] for column in chunked]
    id_chunks = None if id_chunks is None else [id_chunks[k] for k in used]
    return chunked, id_chunks, list(itertools.accumulate((lengths[k] for k in used), initial=0))


def _blocked(
    columns: Sequence[Chunks],
    formula: Formula,
    years: int,
    discount_rate: float,
    workers: int | None,
    jit: bool | None,
    *,
    check: bool,
    ids: npt.NDArray[np.int64] | Sequence[npt.NDArray[np.int64]] | None,
) -> FusedLoss:
    """Run the formula block by block on threads; with ``check``, the schema's checks too,
    the order of ``ids`` and whether an inflation rate is above 1, each while the block is
    in cache. No block crosses the end of a chunk."""
    wanted = (use_jit(None) if jit is None else jit) and formula.compiled is not None
    module = _compiled_module() if wanted else None
    if module is None:
        one = _one_block(columns, ids)
        if one is not None:
            return _small(one[0], formula, years, discount_rate, check, one[1])
    chunked, id_chunks, edges = _layout(columns, ids)
    out = _output(edges[-1])
    failed: list[int] = []  # list.append is atomic under the GIL
    unsorted: list[int] = []
    above_one: list[int] = []
    inflation = INPUTS.index("inflation_rate")
    if module is not None:
        chunked = [[_read_only(c) for c in column] for column in chunked]

    def block(lo: int, hi: int) -> None:
        k = bisect.bisect_right(edges, lo) - 1
        a, b = lo - edges[k], hi - edges[k]
        inputs = [column[k][a:b] for column in chunked]
        if compute(inputs, out[lo:hi]):
            failed.append(lo)
        if check and np.maximum.reduce(inputs[inflation]) > 1:
            above_one.append(lo)
        if id_chunks is not None:
            if a:
                previous = int(id_chunks[k][a - 1])
            else:
                previous = int(id_chunks[k - 1][-1]) if k else int(np.iinfo(np.int64).min)
            if not in_order(id_chunks[k][a:b], previous):
                unsorted.append(lo)

    if module is None:
        names, rules = formula.inputs, formula.numeric

        def compute(inputs: list[FloatArray], into: FloatArray) -> bool:
            named = dict(zip(names, inputs, strict=True))
            loss = formula.loss(named, years, discount_rate, out=into)
            return check and not block_ok(named, loss, rules)

        in_order: Callable[[npt.NDArray[np.int64], int], bool] = rises

    else:
        fused = _compiled_twin(cast("str", formula.compiled))
        factor = discount_factor(years, discount_rate)
        low, high = _bounds()

        def compute(inputs: list[FloatArray], into: FloatArray) -> bool:
            return bool(fused(*inputs, years, factor, low, high, into))

        def compiled_order(block_ids: npt.NDArray[np.int64], previous: int) -> bool:
            return not module.id_order(block_ids, previous)

        in_order = compiled_order

    for_each_block(edges[-1], block, workers=workers, edges=edges)
    increasing = ids is not None and not unsorted
    return FusedLoss(out, not (check and failed), increasing, bool(above_one))


def _one_block(
    columns: Sequence[Chunks], ids: Any
) -> tuple[list[FloatArray], npt.NDArray[np.int64] | None] | None:
    """The columns (and ids) as single arrays when they make one block (each given as an
    array or as a one-chunk list); else None."""
    arrays = [c if isinstance(c, np.ndarray) else c[0] if len(c) == 1 else None for c in columns]
    if ids is not None and not isinstance(ids, np.ndarray):
        ids = ids[0] if len(ids) == 1 else None
        if ids is None:
            return None
    if any(a is None for a in arrays) or len(cast("FloatArray", arrays[0])) > BLOCK_ROWS:
        return None
    return cast("list[FloatArray]", arrays), ids


def _small(
    columns: list[FloatArray],
    formula: Formula,
    years: int,
    discount_rate: float,
    check: bool,
    ids: npt.NDArray[np.int64] | None,
) -> FusedLoss:
    """:func:`_blocked` for one block of NumPy arrays, on this thread: the same kernel and
    checks, without the bookkeeping of blocks (a small frame in a notebook feels it)."""
    named = dict(zip(formula.inputs, columns, strict=True))
    loss = formula.loss(named, years, discount_rate)
    if not check:
        return FusedLoss(loss, ok=True, increasing=False)
    ok = block_ok(named, loss, formula.numeric)
    inflation = columns[INPUTS.index("inflation_rate")]
    above_one = len(inflation) > 0 and bool(np.maximum.reduce(inflation) > 1)
    return FusedLoss(loss, ok, ids is not None and rises(ids), above_one)
