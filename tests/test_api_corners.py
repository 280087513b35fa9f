"""Corners of the Python API an analyst meets (the analyst's second afternoon, item 9, and the
warnings that pointed at vecloss's own lines)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import vecloss
from tests.conftest import EXAMPLE

HEADER = "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate"


def test_a_process_pool_from_a_script_without_a_main_guard_is_refused_first(
    tmp_path: Path,
) -> None:
    script = tmp_path / "noguard.py"
    script.write_text(
        "import vecloss\n"
        f"frame = vecloss.read({str(EXAMPLE)!r})\n"
        "print('ran')\n"
        "print(vecloss.losses(frame, engine='processes')['loss'].sum())\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1
    assert done.stdout == "ran\n"  # once: no worker ran the script again
    assert 'no if __name__ == "__main__": guard' in done.stderr
    assert "BrokenProcessPool" not in done.stderr
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        "import vecloss\n"
        "if __name__ == '__main__':\n"
        f"    frame = vecloss.read({str(EXAMPLE)!r})\n"
        "    print(round(vecloss.losses(frame, engine='processes')['loss'].sum(), 2))\n"
    )
    done = subprocess.run(
        [sys.executable, str(guarded)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "517.8\n"


def test_read_can_set_bad_rows_aside(tmp_path: Path) -> None:
    path = tmp_path / "dirty.csv"
    path.write_text(f"{HEADER}\n1,2000,1200,0.1,0.02\n2,2000,1200,7,0.02\n1,5,5,0.1,0.1\n")
    with pytest.raises(vecloss.ValidationError):
        vecloss.read(path)
    with pytest.warns(UserWarning, match="2 rows set aside") as caught:
        frame = vecloss.read(path, on_invalid="skip")
    assert frame["buildingId"].to_list() == [1]
    assert caught[0].filename == __file__  # the warning points at the caller's line
    with pytest.raises(vecloss.UsageError, match="on_invalid"):
        vecloss.read(path, on_invalid="drop")
    one = vecloss.read(EXAMPLE).with_columns(
        pl.when(pl.col("buildingId") == 3)
        .then(-1.0)
        .otherwise(pl.col("floor_area"))
        .alias("floor_area")
    )
    with pytest.warns(UserWarning, match=r": 1 row set aside"):  # (not "1 rows")
        vecloss.losses(one, on_invalid="skip")


def test_the_two_failure_tables_have_one_column_order(tmp_path: Path) -> None:
    path = tmp_path / "dirty.csv"
    path.write_text(f"{HEADER}\n1,2000,1200,7,0.02\n")
    with pytest.raises(vecloss.ValidationError) as caught:
        vecloss.read(path)
    assert caught.value.failures.columns == vecloss.validate(path).failures.columns


def test_validate_gives_a_pandas_frame_back_for_pandas_data() -> None:
    data = vecloss.read(EXAMPLE).to_pandas()
    data.loc[1, "hazard_probability"] = 7.0
    report = vecloss.validate(data)
    assert isinstance(report.rejected, pd.DataFrame)
    assert report.bad == 1
    assert report.rejected["buildingId"].tolist() == [2]
    assert "1 of 5 rows breaks the schema" in repr(report)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: vecloss.losses(f.with_columns(inflation_rate=f["inflation_rate"] * 100)),
        lambda f: vecloss.losses(f, discount_rate=[1.5, 2]),
        lambda f: vecloss.run(f.with_columns(inflation_rate=f["inflation_rate"] * 100)),
    ],
)
def test_warnings_point_at_the_callers_line(call: object) -> None:
    frame = vecloss.read(EXAMPLE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(frame)  # type: ignore[operator]
    assert caught
    assert {w.filename for w in caught} == {__file__}


def test_validate_gives_rejects_in_the_kind_of_frame_that_came() -> None:
    import pyarrow as pa

    frame = vecloss.read(EXAMPLE)
    dirty = frame.with_columns(
        hazard_probability=frame["hazard_probability"].scatter(1, 7.0)
    ).to_arrow()
    for data in (dirty, pa.RecordBatch.from_pylist(dirty.to_pylist())):
        report = vecloss.validate(data)
        assert type(report.rejected) is type(data)
        assert report.bad == 1
        assert "hazard_probability: out_of_range" in report._repr_html_()


def test_a_lazy_grid_warns_once_for_a_rate_above_one() -> None:
    # (it warned once per pair and once more: three times for two rates)
    lazy = vecloss.read(EXAMPLE).lazy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lazy.vecloss.losses(discount_rate=[1.5, 2]).collect()
    assert len(caught) == 1
    assert caught[0].filename == __file__


def test_simulate_and_risk_take_batch_rows_none_and_the_dead_code_is_gone() -> None:
    import importlib

    import vecloss.checks.log as log
    import vecloss.io.source as source

    hits = importlib.import_module("vecloss.risk.hits")  # (vecloss.risk is also a function)

    frame = vecloss.read(EXAMPLE)
    assert vecloss.simulate(frame, periods=100, batch_rows=None).height == 100  # type: ignore[arg-type]
    assert not hasattr(hits, "shared_hits")  # only tests called it
    assert not hasattr(log.FailureLog, "has")
    assert not hasattr(source.Source, "all_columns")


def test_an_empty_group_table_keeps_the_type_of_its_by_column(tmp_path: Path) -> None:
    # every row rejected: the group table has no rows, and its region column stays Int32
    frame = vecloss.read(EXAMPLE).with_columns(
        region=pl.lit(3, pl.Int32), hazard_probability=pl.lit(7.0)
    )
    with pytest.warns(UserWarning, match="set aside"):
        groups = vecloss.losses(frame, by="region", on_invalid="skip")
    assert groups.height == 0
    assert groups.schema["region"] == pl.Int32
    frame.write_parquet(tmp_path / "p.parquet")
    summary = vecloss.run(
        tmp_path / "p.parquet", by="region", on_invalid="skip", rejects=tmp_path / "r.csv"
    )
    assert summary.groups.height == 0
    assert summary.groups.schema["region"] == pl.Int32


def test_a_pandas_column_of_mixed_types_is_an_error_naming_it() -> None:
    frame = pd.read_json(EXAMPLE)
    frame["buildingId"] = pd.Series([1, "2", 3, "x", 5], dtype=object)  # (ints and text)
    with pytest.raises(vecloss.InputError, match=r"column buildingId mixes types.*astype\(str\)"):
        vecloss.losses(frame)
    with pytest.raises(vecloss.InputError, match="column buildingId mixes types"):
        vecloss.validate(frame)
    fixed = frame.assign(buildingId=frame["buildingId"].astype(str))  # (the hint's way)
    assert vecloss.losses(fixed)["loss"].sum() == pytest.approx(517.8039501919882, rel=1e-12)


def test_pandas_float_ids_say_how_to_make_them_integers() -> None:
    """pandas keeps whole numbers as floats in a column with a missing value (read_csv does):
    the error says so, and its cast gives integer ids that compute, or a null that is named."""
    frame = pd.read_json(EXAMPLE)
    floats = frame.assign(buildingId=frame["buildingId"].astype(float))
    with pytest.raises(vecloss.InputError, match=r"has type Float64; .*\.astype\('Int64'\)"):
        vecloss.losses(floats)
    fixed = floats.assign(buildingId=floats["buildingId"].astype("Int64"))
    assert vecloss.losses(fixed)["loss"].sum() == pytest.approx(517.80395, rel=1e-6)
    with pytest.raises(TypeError):  # (the cast refuses a fraction: no id is rewritten)
        floats.assign(buildingId=[1.5, 2, 3, 4, 5])["buildingId"].astype("Int64")
