from __future__ import annotations

import math
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from vecloss import synthetic
from vecloss.kernels.blocks import jit_available
from vecloss.reference import reference_loss

# A shell that starts a job in the background without job control (`cmd &` in a script) has it
# ignore SIGINT, and every process it starts inherits that: the Ctrl-C tests would then meet
# runs that cannot be interrupted at all. A handler of our own is reset to the default in each
# child at exec, so the runs these tests start take Ctrl-C as they do from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data.json"
EXAMPLE_TOTAL = 517.8039501919882
RTOL = 1e-12
#: The vectorized kernel's two paths: fused compiled loops (Numba, the jit extra) and NumPy ufuncs.
KERNEL_PATHS = ("compiled", "numpy")


@contextmanager
def kernel_path(path: str) -> Iterator[None]:
    """Run the vectorized engine on one of :data:`KERNEL_PATHS`."""
    assert path in KERNEL_PATHS
    if path == "compiled" and not jit_available():
        pytest.skip("the compiled kernels need the jit extra (numba)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECLOSS_JIT", "1" if path == "compiled" else "0")
        yield


def reference_losses(
    frame: pl.DataFrame, *, formula: str = "complex", years: int = 10, discount_rate: float = 0.05
) -> np.ndarray:
    """The scalar reference, building by building (the test oracle)."""
    return np.array(
        [reference_loss(row, years, discount_rate, formula) for row in frame.iter_rows(named=True)],
        dtype=np.float64,
    )


def assert_matches_reference(
    frame: pl.DataFrame,
    loss: np.ndarray | pl.Series,
    *,
    formula: str = "complex",
    years: int = 10,
    discount_rate: float = 0.05,
) -> None:
    """Every loss agrees with the scalar reference to 1e-12 relative."""
    expected = reference_losses(frame, formula=formula, years=years, discount_rate=discount_rate)
    got = np.asarray(loss, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


def assert_close(value: float, expected: float) -> None:
    assert math.isclose(value, expected, rel_tol=RTOL, abs_tol=0), (value, expected)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example portfolio."""
    return Path(shutil.copy(EXAMPLE, tmp_path / "data.json"))


# Most tests were written for the first generator: integer ids 1..N in order (a row's id is its
# number) and the five columns of the schema, in its order. They take the synthetic portfolios
# that way; the realistic default (string ids in no order, a region) has tests of its own
# (test_synthetic.py, test_repeated_ids.py).
def iter_portfolio(
    rows: int, *, seed: int = 0, ids: synthetic.IdKind = "sorted"
) -> Iterator[pl.DataFrame]:
    for chunk in synthetic.iter_portfolio(rows, seed=seed, ids=ids):
        yield chunk.drop("region")


def portfolio(rows: int, *, seed: int = 0, ids: synthetic.IdKind = "sorted") -> pl.DataFrame:
    return synthetic.portfolio(rows, seed=seed, ids=ids).drop("region")


def generate(
    rows: int, path: str | Path, *, seed: int = 0, ids: synthetic.IdKind = "sorted"
) -> Path:
    from vecloss.io.sink import Output

    with Output(path) as out:
        for chunk in iter_portfolio(rows, seed=seed, ids=ids) if rows else [portfolio(0)]:
            out.write(chunk)
    return Path(path)


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """A Dask cluster of two single-threaded workers in this process, for a test module."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def signal_mid_run(
    process: Any, sig: int, working: Callable[[], bool], *, group: bool = False
) -> None:
    """Send ``sig`` to a run while it is provably mid-work, with no race on timing: stop the
    process (SIGSTOP), ask ``working()`` (its staging is there, its transaction open, ...),
    send the signal, which waits until the process continues (SIGCONT). A run that ends
    before it was ever seen working fails the test instead of skipping into a pass."""
    import os
    import signal
    import time

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the run ended before it was seen working; give it more to do")
        os.kill(process.pid, signal.SIGSTOP)
        try:
            if working():
                if group:
                    os.killpg(process.pid, sig)
                else:
                    os.kill(process.pid, sig)
                return
        finally:
            os.kill(process.pid, signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the run was never seen working")
