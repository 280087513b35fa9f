"""The numbered cases of the second hardening pass: each test names its case (D: silent wrong
results and lost data, H: hangs, U: unclear messages and exit codes, C: the rest) and fails on
the code before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vecloss
from tests.conftest import EXAMPLE, signal_mid_run
from vecloss.exceptions import InputError, Terminated, UsageError, interruptions_raised

CLI = [sys.executable, "-m", "vecloss"]
HEADER = "buildingId,floor_area,construction_cost,hazard_probability,inflation_rate"
ROW = {
    "buildingId": 1,
    "floor_area": 2000,
    "construction_cost": 1200,
    "hazard_probability": 0.1,
    "inflation_rate": 0.02,
}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=120
    )


# -- D3: an id is never rewritten -------------------------------------------------------------


def test_d3_csv_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "zeros.csv"
    path.write_text(f'{HEADER}\n"00123",2000,1200,0.1,0.02\n007,1500,1300,0.2,0.04\n')
    frame = vecloss.read(path)
    assert frame["buildingId"].to_list() == ["00123", "007"]
    out = vecloss.losses(frame)
    assert out["buildingId"].to_list() == ["00123", "007"]
    streamed = _cli("run", "zeros.csv", "-o", "-", "--format", "csv", cwd=tmp_path)
    assert streamed.returncode == 0, streamed.stderr
    assert [line.split(",")[0] for line in streamed.stdout.splitlines()] == [
        "buildingId",
        "00123",
        "007",
    ]


def test_d3_007_and_7_are_two_buildings(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text(f"{HEADER}\n007,1500,1300,0.2,0.04\n7,1500,1300,0.2,0.04\n")
    assert vecloss.validate(path).valid
    for batch in ("1", "100"):
        done = _cli("run", "two.csv", "--batch-rows", batch, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rows"] == 2


@pytest.mark.parametrize("text", ["+7", "-0", "0012", " 12"])
def test_d3_whole_ids_are_read_as_numbers_only_when_written_as_such(text: str) -> None:
    from vecloss.io.csv import whole_ids

    assert whole_ids(pl.Series([text, "5"])) is None
    canonical = whole_ids(pl.Series(["0", "-5", "9223372036854775807", None]))
    assert canonical is not None
    assert canonical.to_list() == [0, -5, 2**63 - 1, None]


def test_d3_a_streamed_file_whose_later_ids_change_form_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(f"{HEADER}\n1,1500,1300,0.2,0.04\n2,1500,1300,0.2,0.04\n007,1,1,0.1,0.0\n")
    done = _cli("run", "late.csv", "--batch-rows", "2", cwd=tmp_path)
    assert done.returncode == 1
    assert "row 3 has the id '007'" in done.stderr
    assert "Traceback" not in done.stderr
    assert vecloss.read(path)["buildingId"].to_list() == ["1", "2", "007"]  # whole: as text
    with pytest.raises(InputError, match="row 3 has the id '007'"):  # in-process, to a file:
        vecloss.run(path, tmp_path / "o.csv", batch_rows=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]
    deadline = time.monotonic() + 10  # the writer's thread ends and closes its file: not left
    while _writers() and time.monotonic() < deadline:  # waiting forever, the file open
        time.sleep(0.01)
    assert _writers() == []


def _writers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "vecloss-write"]


# -- D4, D5: a column or key given twice ---------------------------------------------------


def test_d4_a_csv_column_given_twice_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(f"{HEADER},floor_area\n1,2000,1200,0.1,0.02,5\n")
    for command in ("run", "validate"):
        done = _cli(command, "twice.csv", cwd=tmp_path)
        assert done.returncode == 1
        assert "gives the column 'floor_area' more than once (columns 2 and 6)" in done.stderr
    with pytest.raises(InputError, match="more than once"):
        vecloss.read(path)


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_d5_a_key_repeated_through_an_escape_is_an_error(tmp_path: Path, suffix: str) -> None:
    line = json.dumps(ROW)[:-1] + ', "hazard_probabilit\\u0079": 0.5}'
    path = tmp_path / f"escaped{suffix}"
    path.write_text(f"[{line}]" if suffix == ".json" else line + "\n")
    with pytest.raises(InputError, match="row 1 gives the key 'hazard_probability' more than"):
        vecloss.read(path)
    done = _cli("run", path.name, cwd=tmp_path)
    assert done.returncode == 1
    assert "more than once" in done.stderr


def test_d5_a_key_spelled_with_an_escape_once_is_fine(tmp_path: Path) -> None:
    line = json.dumps(ROW).replace("hazard_probability", "hazard_probabilit\\u0079")
    path = tmp_path / "once.ndjson"
    path.write_text(line + "\n" + json.dumps(ROW | {"buildingId": 2, "note": "x"}) + "\n")
    frame = vecloss.read(path)  # (a key only one line gives: the careful path)
    assert frame["hazard_probability"].to_list() == [0.1, 0.1]


# -- D6: a database in memory keeps nothing --------------------------------------------------


@pytest.mark.parametrize("uri", ["sqlite:///:memory:", "sqlite:///file:x?mode=memory", "sqlite://"])
def test_d6_an_in_memory_sqlite_output_is_refused(tmp_path: Path, uri: str) -> None:
    pytest.importorskip("adbc_driver_sqlite")
    done = _cli("run", str(EXAMPLE), "-o", uri, "--output-table", "t", cwd=tmp_path)
    assert done.returncode == 2
    assert "not a database file" in done.stderr
    assert list(tmp_path.iterdir()) == []


# -- U6: a byte-order mark -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".ndjson", ".csv"])
def test_u6_a_byte_order_mark_is_accepted(tmp_path: Path, suffix: str) -> None:
    frame = vecloss.read(EXAMPLE)
    plain = tmp_path / f"plain{suffix}"
    {".json": frame.write_json, ".ndjson": frame.write_ndjson, ".csv": frame.write_csv}[suffix](
        plain
    )
    marked = tmp_path / f"marked{suffix}"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert vecloss.read(marked).equals(vecloss.read(plain))
    for batch in ("2", "1000"):
        done = _cli("run", marked.name, "--batch-rows", batch, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["rows"] == frame.height


# -- U8: NumPy integers are whole numbers ------------------------------------------------------


@pytest.mark.parametrize("option", ["workers", "batch_rows", "chunk_size", "top"])
def test_u8_numpy_integers_are_whole_numbers(option: str) -> None:
    summary = vecloss.run(EXAMPLE, **{option: np.int64(2)})  # type: ignore[arg-type]
    assert summary.rows == 5
    if option in ("workers", "batch_rows"):
        risk = vecloss.risk(vecloss.read(EXAMPLE), periods=np.int64(1000), **{option: np.int64(2)})
        assert risk.rows == 5
    with pytest.raises(UsageError, match="whole number"):
        vecloss.run(EXAMPLE, **{option: 2.0})  # type: ignore[arg-type]


def test_u8_risk_batch_rows_none_is_the_default() -> None:
    assert vecloss.risk(vecloss.read(EXAMPLE), periods=1000, batch_rows=None).rows == 5  # type: ignore[arg-type]


# -- C3, C4: long names and links ------------------------------------------------------------


def test_c3_a_legal_long_file_name_can_be_written(tmp_path: Path) -> None:
    name = "a" * 240 + ".csv"  # 244 bytes: legal; its staged name must stay within 255
    done = _cli("run", str(EXAMPLE), "-o", name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert pl.read_csv(tmp_path / name).height == 5


def test_c4_an_output_through_a_link_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to("real.csv")
    done = _cli("run", str(EXAMPLE), "-o", "link.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert pl.read_csv(tmp_path / "real.csv").height == 5


# -- C7: passwords -----------------------------------------------------------------------------


def test_c7_a_password_with_a_raw_at_sign_is_masked_whole() -> None:
    from vecloss.io.database import safe_uri

    shown = safe_uri("postgresql://bob:p@ss@w0rd@db.example:5432/risk?sslmode=require")
    assert shown == "postgresql://bob:***@db.example:5432/risk?sslmode=require"
    assert "ss" not in shown.split("@")[0]


# -- C8: a loss column in the input ------------------------------------------------------------


@pytest.mark.parametrize("option", [{"keep": ["loss"]}, {"by": "loss"}])
def test_c8_an_input_loss_column_is_neither_kept_nor_grouped_silently(
    option: dict[str, object],
) -> None:
    frame = vecloss.read(EXAMPLE).with_columns(loss=pl.lit(7.0))
    with pytest.raises(UsageError, match="loss is a column vecloss writes"):
        vecloss.run(frame, **option)  # type: ignore[arg-type]


def test_c8_on_the_command_line(tmp_path: Path) -> None:
    vecloss.read(EXAMPLE).with_columns(loss=pl.lit(7.0)).write_parquet(tmp_path / "l.parquet")
    for args in (["--keep", "loss"], ["--group-by", "loss"]):
        done = _cli("run", "l.parquet", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert "rename it in the input" in done.stderr


# -- D7: every destination checked before the work; all published or none --------------------


def test_d7_a_bad_second_risk_output_fails_before_the_simulation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vecloss.cli as cli
    import vecloss.cli.commands as commands

    def never(*_: object) -> None:
        pytest.fail("the simulation ran before the destinations were checked")

    monkeypatch.setattr(commands, "_risk_result", never)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "ep.csv").write_text("old\n")
    args = ["risk", str(EXAMPLE), "-o", str(tmp_path / "ep.csv")]
    assert cli.main([*args, "--aal", str(tmp_path / "afile" / "aal.csv")]) == 1
    assert "a part of the path is a file" in capsys.readouterr().err
    assert (tmp_path / "ep.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ep.csv"]


def test_d7_risk_outputs_appear_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vecloss.cli as cli
    import vecloss.io.csv as csv_io

    real_close = csv_io.Writer.close

    def close(self: csv_io.Writer) -> None:  # the second file's last flush meets a full disk
        real_close(self)
        if "aal" in str(self._file.name):
            raise OSError(28, "No space left on device", str(tmp_path / "aal.csv"))

    monkeypatch.setattr(csv_io.Writer, "close", close)
    (tmp_path / "ep.csv").write_text("old\n")
    args = ["risk", str(EXAMPLE), "--periods", "1000", "--return-periods", "10,100"]
    args += ["-o", str(tmp_path / "ep.csv"), "--aal", str(tmp_path / "aal.csv")]
    assert cli.main(args) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert (tmp_path / "ep.csv").read_text() == "old\n"  # the first output not published alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep.csv"]


def test_d7_run_output_waits_for_its_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vecloss.cli as cli
    import vecloss.io.csv as csv_io

    real_close = csv_io.Writer.close

    def close(self: csv_io.Writer) -> None:
        real_close(self)
        if "rejects" in str(self._file.name):
            raise OSError(28, "No space left on device", str(tmp_path / "rejects.csv"))

    monkeypatch.setattr(csv_io.Writer, "close", close)
    dirty = tmp_path / "dirty.csv"
    dirty.write_text(f"{HEADER}\n1,2000,1200,0.1,0.02\n2,2000,1200,7,0.02\n")
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    args = ["run", str(dirty), "-o", str(out), "--on-invalid", "skip", "--rejects", str(rejects)]
    assert cli.main(args) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dirty.csv"]


# -- D8: a folder output is swapped in one step -----------------------------------------------


def _folder_run(tmp_path: Path, seed: int) -> None:
    from tests.conftest import generate

    generate(1_000, tmp_path / "in.parquet", seed=seed)
    vecloss.run(tmp_path / "in.parquet", f"{tmp_path}/out/", batch_rows=300)


def test_d8_a_folder_output_is_replaced_without_a_moment_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecloss.io import atomic

    if atomic._renameat2() is None:
        pytest.skip("no renameat2 on this system: the fallback is tested below")
    _folder_run(tmp_path, 1)
    first = pl.read_parquet(tmp_path / "out")
    real_replace = Path.replace

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        assert Path(target) != tmp_path / "out", "the folder was renamed away, then back"
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    _folder_run(tmp_path, 2)
    second = pl.read_parquet(tmp_path / "out")
    assert not second.equals(first)
    assert second.height == 1_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out"]


def test_d8_a_signal_between_the_two_renames_waits_for_the_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecloss.io import atomic

    _folder_run(tmp_path, 1)
    monkeypatch.setattr(atomic, "_renameat2", lambda: None)  # the portable path
    real_replace = Path.replace
    delivered: list[int] = []

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        done = real_replace(self, target)
        if Path(self) == tmp_path / "out":  # the old folder moved aside: now the signal
            os.kill(os.getpid(), signal.SIGTERM)
        return done

    def handler(signum: int, _: object) -> None:
        delivered.append(signum)
        assert (tmp_path / "out").is_dir(), "the signal came while there was no folder"
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "replace", replace)
    before = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _folder_run(tmp_path, 2)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert delivered == [signal.SIGTERM]
    assert pl.read_parquet(tmp_path / "out").height == 1_000


# -- U7, C1, C2: standard output, early Ctrl-C, kill -9 during -o - ------------------------------


def test_u7_a_closed_standard_output_is_a_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "run", str(EXAMPLE), "-o", "-", "--format", "csv"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 1
    assert "standard output is closed" in done.stderr
    assert "internal error" not in done.stderr


#: Ctrl-C while a library loads, on cue: an import hook sends SIGINT when ``{module}`` is
#: first imported, then runs the command as its script does.
_EARLY = """
import importlib.abc, os, signal, sys
class Cue(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Cue())
sys.argv = ["vecloss", "run", {example!r}]
from vecloss_console import console
console()
"""


@pytest.mark.parametrize("module", ["vecloss.cli", "polars", "numpy._core._multiarray_umath"])
def test_c1_ctrl_c_while_the_command_loads_is_an_interruption(tmp_path: Path, module: str) -> None:
    script = _EARLY.format(module=module, example=str(EXAMPLE))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "vecloss: interrupted"


#: A signal that lands while Polars calls back into Python (on a process's first scan of a
#: Parquet file it asks Python for its default cast options, once): the callback raises the
#: interruption, and Polars, unable to hand it back, panics with a message naming it.
_IN_A_CALLBACK = """
import os, signal, sys
from polars.io.scan_options import cast_options
default = cast_options.ScanCastOptions._default
def cue():
    os.kill(os.getpid(), signal.{signal})
    return default()
cast_options.ScanCastOptions._default = staticmethod(cue)
{code}
"""


@pytest.mark.parametrize(
    ("name", "code", "word"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_a_signal_inside_a_polars_callback_is_an_interruption(
    tmp_path: Path, name: str, code: int, word: str
) -> None:
    # Seen once in a full test run: Ctrl-C at that moment said "big.parquet: cannot read
    # Parquet: called `Result::unwrap()` ... KeyboardInterrupt ...; hint: check that the file
    # is Parquet", exit 1.
    path = vecloss.generate(100, tmp_path / "p.parquet", seed=1)

    def cued(code: str) -> subprocess.CompletedProcess[str]:
        script = _IN_A_CALLBACK.format(signal=name, code=code)
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
        )

    done = cued(f"from vecloss.cli import main; sys.exit(main(['run', {str(path)!r}]))")
    if done.returncode == 0 and name == "SIGINT":
        pytest.skip("this Polars no longer calls back for its cast options: nothing to cue on")
    assert done.returncode == code, done.stderr
    assert done.stderr.strip().endswith(f"vecloss: {word}"), done.stderr
    assert "cannot read" not in done.stderr
    if name == "SIGINT":  # and in Python, the KeyboardInterrupt a notebook shows
        api = (
            f"import vecloss\ntry:\n    vecloss.run({str(path)!r})\n"
            "except KeyboardInterrupt:\n    print('KeyboardInterrupt')"
        )
        done = cued(api)
        assert done.stdout.strip() == "KeyboardInterrupt", done.stderr


@pytest.mark.parametrize(
    ("name", "kind"),
    [("KeyboardInterrupt", KeyboardInterrupt), ("vecloss.exceptions.Terminated", Terminated)],
)
def test_a_panic_naming_an_interruption_is_raised_as_it(name: str, kind: type) -> None:
    # (the command line's one mechanism, for a panic met anywhere in a run, not only a read)
    from polars.exceptions import PanicException

    panic = PanicException(f"called `Result::unwrap()`: PyErr {{ type: <class '{name}'>, ... }}")
    with pytest.raises(kind) as raised, interruptions_raised():
        raise panic
    assert type(raised.value) is kind
    assert raised.value.__cause__ is panic
    with pytest.raises(PanicException), interruptions_raised():  # any other panic: as it is
        raise PanicException("index out of bounds")


def test_c2_a_stale_standard_output_staging_is_swept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    stale = tmp_path / f"vecloss-stdout-{gone}-abc"
    stale.mkdir()
    (stale / "stdout.csv").write_text("left by a run killed with -9")
    mine = tmp_path / f"vecloss-stdout-{os.getpid()}-abc"  # a live process's: kept
    mine.mkdir()
    other = tmp_path / "vecloss-notes"  # not vecloss's scratch: kept
    other.mkdir()
    done = subprocess.run(
        [*CLI, "run", str(EXAMPLE), "-o", "-", "--format", "csv"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])


# -- C6: one id type across a folder's output parts --------------------------------------------


@pytest.mark.parametrize("engine", ["vectorized", "dask"])
def test_c6_folder_parts_from_ids_of_several_widths_read_back_as_one(
    tmp_path: Path, engine: str
) -> None:
    if engine == "dask":
        pytest.importorskip("distributed")
    frame = vecloss.read(EXAMPLE)
    (tmp_path / "in").mkdir()
    frame.head(2).write_parquet(tmp_path / "in" / "a.parquet")
    narrow = frame.tail(3).with_columns(pl.col("buildingId").cast(pl.Int32))
    narrow.write_parquet(tmp_path / "in" / "b.parquet")
    wide = frame.with_columns(pl.col("buildingId").cast(pl.UInt64) + 2**63)  # beyond Int64
    wide.write_parquet(tmp_path / "in" / "c.parquet")
    out = f"{tmp_path}/out/"
    vecloss.run(tmp_path / "in", out, engine=engine, workers=2)  # type: ignore[arg-type]
    back = pl.read_parquet(out)  # failed: Int32 != Int64 across the parts
    assert back.height == 10
    assert vecloss.read(tmp_path / "in")["buildingId"].dtype == pl.Int128  # read whole: the same
    assert sorted(back["buildingId"].to_list()) == [1, 2, 3, 4, 5] + [
        2**63 + i for i in range(1, 6)
    ]


# -- C9: exact risk of enormous losses ----------------------------------------------------------


def test_c9_an_exact_deviation_of_losses_near_1e300_is_finite() -> None:
    small = vecloss.read(EXAMPLE)
    huge = small.with_columns(pl.col("construction_cost") * 1e290)
    exact = vecloss.risk(small, exact=True).aal
    scaled = vecloss.risk(huge, exact=True).aal
    assert np.isfinite(scaled["sd_loss"][0])  # was inf: the variance passed float64's range
    assert scaled["sd_loss"][0] == pytest.approx(exact["sd_loss"][0] * 1e290, rel=1e-12)
    assert scaled["mean_loss"][0] == pytest.approx(exact["mean_loss"][0] * 1e290, rel=1e-12)


# -- U1: Ctrl-C on a PostgreSQL output ----------------------------------------------------------


def test_u1_a_statement_the_database_cancelled_is_an_error_that_says_so() -> None:
    # vecloss's own cancel on Ctrl-C raises the interruption itself (_off_main_thread); a cancel
    # from elsewhere (a statement timeout, pg_cancel_backend) is an error, with what to do
    from vecloss.io.database import DatabaseOutput

    class Status:
        name = "CANCELLED"

    class DriverError(Exception):
        status_code = Status()

    output = DatabaseOutput("postgresql://u:p@localhost/db", "losses")
    error = DriverError("CANCELLED: [libpq] canceling statement due to statement timeout")
    failure = output._failure(error)
    assert isinstance(failure, InputError)
    assert "statement timeout" in str(failure)
    assert "the database cancelled the statement" in str(failure)
    assert "u:p@" not in str(failure)  # (no password in the message)
    wrapped = DriverError("CANCELLED: interrupted")
    wrapped.__context__ = KeyboardInterrupt()
    assert isinstance(output._failure(wrapped), KeyboardInterrupt)


def test_u1_a_statement_timeout_on_a_postgresql_output_is_an_error() -> None:
    pytest.importorskip("adbc_driver_postgresql")
    from tests.test_database import postgres_uri
    from vecloss.io.database import connect

    uri = postgres_uri()
    table = "u1_timed_out"
    holder = connect(uri)  # (holds the table's lock, so the run's wait for it times out)
    try:
        cursor = holder.cursor()
        cursor.execute(f"SELECT pg_advisory_xact_lock(hashtext('{table}'))")
        timed_out = uri + ("&" if "?" in uri else "?") + "options=-c%20statement_timeout%3D300"
        process = subprocess.run(
            [*CLI, "run", str(EXAMPLE), "-o", timed_out, "--output-table", table],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        holder.rollback()
        holder.close()
    assert process.returncode == 1, process.stderr
    assert "the database cancelled the statement" in process.stderr, process.stderr
    assert "statement timeout" in process.stderr, process.stderr
    assert "Traceback" not in process.stderr


_HOLD = """
import sys
from vecloss.io.database import connect
conn = connect(sys.argv[1])
cursor = conn.cursor()
for statement in sys.argv[2:]:  # (as a run takes the table's lock)
    cursor.execute(statement)
    cursor.fetchall()
print("held", flush=True)
sys.stdin.read()  # (until the test closes it)
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_u1_a_table_another_writer_holds_is_an_error_naming_the_wait(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vecloss.io.database as database

    table = "u1_held"
    if kind == "sqlite":  # (another process: SQLite's locks are the process's)
        uri, lock = f"sqlite:///{tmp_path / 'held.db'}", ["COMMIT", "BEGIN IMMEDIATE"]
    else:
        pytest.importorskip("adbc_driver_postgresql")
        from tests.test_database import postgres_uri

        uri, lock = postgres_uri(), [f"SELECT pg_advisory_xact_lock(hashtext('{table}'))"]
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, uri, *lock],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(database, "LOCK_SECONDS", 1)  # (30 s in a run)
        with pytest.raises(InputError, match="another run or program holds the table"):
            vecloss.run(EXAMPLE, uri, output_table=table)
    finally:
        holder.communicate(timeout=30)


def _copying(uri: str, table: str) -> bool:
    from vecloss.io.database import connect

    conn = connect(uri)
    try:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY%' "
            f"AND query ILIKE '%{table}%' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])
    finally:
        conn.close()


def test_u1_ctrl_c_on_a_postgresql_output_is_an_interruption(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    from tests.conftest import generate
    from tests.test_database import postgres_uri

    uri = postgres_uri()
    big = generate(3_000_000, tmp_path / "big.parquet", seed=5)
    table = "u1_interrupted"
    process = subprocess.Popen(
        [*CLI, "run", str(big), "-o", uri, "--output-table", table, "--batch-rows", "100000"],
        stderr=subprocess.PIPE,
        text=True,
    )
    # (Ctrl-C while the driver is in a COPY, where its own handler takes it)
    signal_mid_run(process, signal.SIGINT, lambda: _copying(uri, table))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().endswith("vecloss: interrupted"), err
    assert "CANCELLED" not in err


def test_u1_a_ctrl_c_during_a_driver_call_cancels_it_and_is_raised_after_it() -> None:
    # the driver's calls run off the main thread, so Ctrl-C reaches Python's handler, never the
    # driver's (which only cancels, and loses a Ctrl-C that lands as a statement ends)
    from vecloss.io.database import _off_main_thread

    released, ended = threading.Event(), threading.Event()

    def call() -> None:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the statement runs
            assert released.wait(10), "never cancelled"
            raise RuntimeError("CANCELLED: the statement was cancelled")
        finally:
            ended.set()

    with pytest.raises(KeyboardInterrupt):
        _off_main_thread(call, released.set)
    assert released.is_set()
    assert ended.is_set()  # (the interruption comes out once the statement has ended)


# -- the promises of README's "Failure modes" that no numbered case named ------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-o", "in.csv"], "the output would replace the input"),
        (["-o", "o.csv", "--on-invalid", "skip", "--rejects", "o.csv"], "are the same path"),
        (["-o", "full/"], "holds files vecloss did not write"),
        (["-o", "o.csv", "--rejects", "in.csv", "--on-invalid", "skip"], "would replace the input"),
    ],
)
def test_outputs_that_would_replace_an_input_or_each_other_are_refused_first(
    tmp_path: Path, args: list[str], words: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{HEADER}\n1,2000,1200,0.1,0.02\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    done = _cli("run", "in.csv", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert source.read_text().startswith(HEADER)


def test_a_name_too_long_is_a_message(tmp_path: Path) -> None:
    done = _cli("run", str(EXAMPLE), "-o", "n" * 300 + ".csv", cwd=tmp_path)
    assert done.returncode == 1
    assert "File name too long; hint: the name is too long" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
