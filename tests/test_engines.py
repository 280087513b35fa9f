"""Every engine gives the vectorized engine's losses (and the reference's) to 1e-12."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EXAMPLE, EXAMPLE_TOTAL, assert_close, assert_matches_reference, portfolio
from vecloss import formulas
from vecloss.api import validated
from vecloss.cli import main
from vecloss.kernels import KERNELS, compute_loss
from vecloss.run.runner import ENGINES

CASES = [(engine, None) for engine in KERNELS] + [("threads", 7), ("processes", 50)]


@pytest.fixture(scope="module")
def frame():  # type: ignore[no-untyped-def]
    return validated(portfolio(400, seed=8))


@pytest.mark.parametrize(("engine", "chunk_size"), CASES)
@pytest.mark.parametrize("formula", formulas.names())
def test_engine_matches_vectorized_and_reference(frame, engine, chunk_size, formula) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"formula": formula, "years": 25, "discount_rate": 0.04}
    got = compute_loss(frame, engine=engine, workers=2, chunk_size=chunk_size, **kwargs)
    want = compute_loss(frame, engine="vectorized", **kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert_matches_reference(frame, got, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_engines_give_the_example_total(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine == "dask":
        pytest.importorskip("distributed", reason="the dask extra")
    out = tmp_path / "o.parquet"
    args = ["run", str(EXAMPLE), "-o", str(out), "--engine", engine, "--workers", "2", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["engine"] == engine
    assert_close(summary["total_loss"], EXAMPLE_TOTAL)
