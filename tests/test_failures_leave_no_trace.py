"""Faults leave no trace: nothing lost, nothing hung, every failure a clear message.

Each test names the case of the fault run it reproduces."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import vecloss
from tests.conftest import EXAMPLE, generate, portfolio, signal_mid_run
from tests.test_database import load, postgres_uri, read_table
from vecloss.cli import main

CLI = [sys.executable, "-m", "vecloss"]


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, check=False, cwd=cwd, timeout=120
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if ".vecloss-" in p.name or p.name.endswith(".old")
    )


# -- case 15: operating-system and parameter errors are messages, not internal errors --------


@pytest.mark.parametrize(
    ("output", "words"),
    [
        ("afile/o.parquet", "a part of the path is a file"),
        ("", "the output path is empty"),
        (".", "must name a file or a new folder"),
    ],
)
def test_bad_output_paths_are_clear(tmp_path: Path, output: str, words: str) -> None:
    (tmp_path / "afile").write_text("x")
    generate(100, tmp_path / "in.parquet")
    done = _cli("run", "in.parquet", "-o", output, cwd=tmp_path)
    assert done.returncode in (1, 2)
    assert words in done.stderr
    assert "internal error" not in done.stderr
    assert _leftovers(tmp_path) == []


def test_a_full_disk_is_an_input_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vecloss.io.parquet as parquet

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o.parquet"))

    monkeypatch.setattr(parquet.Writer, "write", full)
    assert main(["run", str(EXAMPLE), "-o", str(tmp_path / "o.parquet")]) == 1
    err = capsys.readouterr().err
    assert "No space left on device; hint: free some space" in err
    assert "internal error" not in err
    assert list(tmp_path.iterdir()) == []


def test_read_only_place_is_clear(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    done = _cli("run", str(EXAMPLE), "-o", str(ro / "o.parquet"))
    assert done.returncode == 1
    assert "Permission denied" in done.stderr


def test_uint64_ids_above_2_63_and_huge_years(tmp_path: Path) -> None:
    frame = vecloss.read(EXAMPLE).with_columns(
        buildingId=pl.Series([2**63, 2**63 + 1, 2**64 - 1, 5, 7], dtype=pl.UInt64)
    )
    path = tmp_path / "u.parquet"
    frame.write_parquet(path)
    assert vecloss.run(str(path)).rows == 5
    repeated = frame.with_columns(buildingId=pl.Series([2**63] * 5, dtype=pl.UInt64))
    repeated.write_parquet(path)
    with pytest.raises(vecloss.ValidationError, match="duplicate_id"):
        vecloss.run(str(path))
    done = _cli("run", str(EXAMPLE), "--years", "1000000000000000000000")
    assert done.returncode == 2
    assert "years must be" in done.stderr
    done = _cli("generate", "10", "-o", str(tmp_path / "g.parquet"), "--seed", "-1")
    assert done.returncode == 2
    assert "seed" in done.stderr


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("http://127.0.0.1:8787", "web address"),
        ("foo bar", "not a Dask scheduler address"),
        ("tcp://host:99999", "not a Dask scheduler address"),
    ],
)
def test_odd_scheduler_strings_are_usage_errors(address: str, words: str) -> None:
    pytest.importorskip("distributed")
    done = _cli("run", str(EXAMPLE), "--engine", "dask", "--scheduler", address)
    assert done.returncode == 2
    assert words in done.stderr


# -- case 8: files and folders take the umask ------------------------------------------------


def test_outputs_take_the_umask(tmp_path: Path) -> None:
    code = (
        "import os, vecloss; os.umask(0o077); "
        f"vecloss.run({str(EXAMPLE)!r}, {str(tmp_path / 'o.parquet')!r}, on_invalid='skip', "
        f"rejects={str(tmp_path / 'r.csv')!r}); "
        f"vecloss.run({str(EXAMPLE)!r}, {str(tmp_path / 'f')!r} + '/')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (tmp_path / "o.parquet").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "r.csv").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o700
    code = code.replace("0o077", "0o022").replace("'f'", "'g'").replace("o.parquet", "p.parquet")
    code = code.replace("r.csv", "s.csv").replace(str(tmp_path / "f"), str(tmp_path / "g"))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (tmp_path / "p.parquet").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "g").stat().st_mode & 0o777 == 0o755


# -- cases 18 and 20: stale staging, symlinked folders, SIGTERM --------------------------------


def test_stale_staging_never_blocks_and_is_swept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = 2**22 + 12345  # beyond pid_max on most systems: no such process
    stale_file = tmp_path / f".o.parquet.vecloss-{dead}-abcd.tmp"
    stale_file.write_text("half a file")
    stale_folder = tmp_path / f".out.vecloss-{dead}-abcd"
    stale_folder.mkdir()
    (stale_folder / "part-00000.parquet").write_text("x")
    (tmp_path / ".out.old").mkdir()  # what older versions left: no longer in the way
    vecloss.run(str(EXAMPLE), str(out) + "/")
    vecloss.run(str(EXAMPLE), str(out) + "/")  # publishing twice: the old folder goes aside
    vecloss.run(str(EXAMPLE), str(tmp_path / "o.parquet"))
    assert not stale_file.exists()
    assert not stale_folder.exists()
    assert [p.name for p in out.iterdir()] == ["part-00000.parquet"]


def test_a_symlink_to_a_folder_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):
        vecloss.run(str(EXAMPLE), str(link))
        assert link.is_symlink()
        assert [p.name for p in real.iterdir()] == ["part-00000.parquet"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_and_removes_the_staging(tmp_path: Path, sig: int) -> None:
    big = tmp_path / "big.parquet"
    generate(6_000_000, big, seed=2)
    (tmp_path / "out.csv").write_text("the previous output\n")
    process = subprocess.Popen(
        [*CLI, "run", str(big), "-o", str(tmp_path / "out.csv")],
        stderr=subprocess.PIPE,
        text=True,
    )
    signal_mid_run(process, sig, lambda: bool(_leftovers(tmp_path)))  # its staging is there
    _, err = process.communicate(timeout=30)
    assert process.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert ("terminated" if sig == signal.SIGTERM else "interrupted") in err
    assert "Traceback" not in err
    assert (tmp_path / "out.csv").read_text() == "the previous output\n"
    assert _leftovers(tmp_path) == []


def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_sqlite")
    done = _cli("run", f"sqlite:///{tmp_path / 'nothere.db'}", "--table", "t")
    assert done.returncode == 1
    assert "no such database file" in done.stderr
    assert list(tmp_path.iterdir()) == []


# -- databases: cases 3, 7, 9, 11, 16, 17, 19 --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    pytest.importorskip("adbc_driver_sqlite")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portfolio.db'}"
    pytest.importorskip("adbc_driver_postgresql")
    return postgres_uri()


def test_same_table_in_and_out_is_refused(db: str) -> None:
    load(db, "buildings", portfolio(1_000, seed=1))
    for kwargs in ({"table": "buildings"}, {"query": "select * from BUILDINGS where 1 = 1"}):
        with pytest.raises(vecloss.UsageError, match="the output table is the input"):
            vecloss.run(db, db, output_table="buildings", **kwargs)  # type: ignore[arg-type]
    assert read_table(db, "buildings").height == 1_000  # untouched


def test_schema_qualified_and_mixed_case_tables_round_trip(db: str) -> None:
    load(db, "Buildings", portfolio(500, seed=2))  # created quoted: mixed case kept
    vecloss.run(db, db, table="Buildings", output_table="Losses")
    assert vecloss.validate(db, table="Buildings").rows == 500  # read by the same name
    if db.startswith("postgresql"):
        conn_uri = db
        from vecloss.io.database import connect

        conn = connect(conn_uri)
        cursor = conn.cursor()
        cursor.execute("CREATE SCHEMA IF NOT EXISTS reporting")
        conn.commit()
        conn.close()
        vecloss.run(db, db, table="Buildings", output_table="reporting.losses")
        assert read_table(db, "reporting.losses").height == 500
    read = read_table(db, '"Losses"')
    assert read.height == 500


def test_a_full_sqlite_output_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("adbc_driver_sqlite")
    import vecloss.io.database as database

    real = database.connect

    def tiny(uri: str) -> object:
        conn = real(uri)
        cursor = conn.cursor()
        cursor.execute("PRAGMA max_page_count = 8")  # a disk that fills at 32 KB
        cursor.close()
        return conn

    monkeypatch.setattr(database, "connect", tiny)
    out = f"sqlite:///{tmp_path / 'out.db'}"
    big = tmp_path / "big.parquet"
    generate(20_000, big)
    code = main(["run", str(big), "-o", out, "--output-table", "losses"])
    err = capsys.readouterr().err
    assert code == 1
    assert "full" in err
    assert "internal error" not in err
    assert not (tmp_path / "out.db").exists()  # the run made it: the run removes it
    assert not (tmp_path / "out.db-journal").exists()


def test_passwords_are_masked_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    for uri in (
        "postgresql://user:s3cret@127.0.0.1:1/db",
        "postgresql://user@127.0.0.1:1/db?password=s3cret",
    ):
        assert main(["run", uri, "--table", "t", "--json"]) == 1
        assert main(["validate", uri, "--table", "t"]) == 1
        captured = capsys.readouterr()
        assert "s3cret" not in captured.out + captured.err
        assert "***" in captured.err


def test_passwords_are_masked_on_success(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("adbc_driver_postgresql")
    uri = postgres_uri()
    load(uri, "buildings", portfolio(100, seed=3))
    password = uri.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert password
    assert main(["run", uri, "--table", "buildings", "-o", uri, "--output-table", "out1"]) == 0
    assert main(["run", uri, "--table", "buildings", "--json"]) == 0
    assert main(["validate", uri, "--table", "buildings", "--json"]) == 0
    captured = capsys.readouterr()
    assert f":{password}@" not in captured.out + captured.err


def test_concurrent_writers_wait_for_the_table(db: str, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    generate(200_000, source, seed=4)
    runs = [
        subprocess.Popen(
            [*CLI, "run", str(source), "-o", db, "--output-table", "shared"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in runs:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert read_table(db, "shared").height == 200_000


def test_ctrl_c_on_a_database_output_is_an_interruption(tmp_path: Path) -> None:
    pytest.importorskip("adbc_driver_sqlite")
    big = tmp_path / "big.parquet"
    generate(5_000_000, big, seed=5)
    out = f"sqlite:///{tmp_path / 'out.db'}"
    process = subprocess.Popen(
        [*CLI, "run", str(big), "-o", out, "--output-table", "losses"],
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = tmp_path / "out.db-journal"  # there while the run's transaction is open
    signal_mid_run(process, signal.SIGINT, journal.exists)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "internal error" not in err
    assert not (tmp_path / "out.db").exists()


# -- cases 5, 6: one id type per run; repeated JSON keys ---------------------------------------


def test_a_folder_with_two_id_types_is_refused(tmp_path: Path) -> None:
    frame = portfolio(500, seed=1)
    frame.write_parquet(tmp_path / "a.parquet")
    frame.with_columns(pl.col("buildingId").cast(pl.String)).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(vecloss.InputError, match=r"integer in a\.parquet; string in b\.parquet"):
        vecloss.run(str(tmp_path))


@pytest.mark.parametrize("layout", ["pretty", "one line", "ndjson"])
def test_a_repeated_json_key_is_an_error(tmp_path: Path, layout: str) -> None:
    import json

    rows = [json.dumps(r) for r in vecloss.read(EXAMPLE).to_dicts()]
    rows[2] = rows[2][:-1] + ', "construction_cost": -5}'
    if layout == "pretty":
        objects = [json.loads(r, object_pairs_hook=list) for r in rows]
        body = (
            "[\n"
            + ",\n".join(
                "  {\n" + ",\n".join(f'    "{k}": {json.dumps(v)}' for k, v in o) + "\n  }"
                for o in objects
            )
            + "\n]\n"
        )
        path = tmp_path / "p.json"
    elif layout == "one line":
        body, path = "[" + ", ".join(rows) + "]", tmp_path / "p.json"
    else:
        body, path = "\n".join(rows) + "\n", tmp_path / "p.ndjson"
    path.write_text(body)
    with pytest.raises(vecloss.InputError, match="row 3 gives the key 'construction_cost' more"):
        vecloss.run(str(path))
    with pytest.raises(vecloss.InputError, match="row 3 gives the key 'construction_cost' more"):
        vecloss.read(path)  # read whole, as well as streamed


# -- case 20: checksums, long lines, memory of a whole JSON array -----------------------------


def test_parquet_page_checksums_are_verified(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    frame = portfolio(2_000, seed=6)
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    pq.write_table(frame.to_arrow(), good, write_page_checksum=True, compression="NONE")
    assert vecloss.run(str(good)).rows == 2_000
    data = bytearray(good.read_bytes())
    column = pq.ParquetFile(good).metadata.row_group(0).column(1)
    data[column.data_page_offset + 200] ^= 0xFF  # a value changes: only the CRC tells
    bad.write_bytes(bytes(data))
    with pytest.raises(vecloss.InputError, match="CRC checksum verification failed"):
        vecloss.run(str(bad))


def test_a_very_long_ndjson_line_reads_in_linear_time(tmp_path: Path) -> None:
    import json

    import vecloss.io._stream as stream

    row = {**vecloss.read(EXAMPLE).to_dicts()[0], "note": "x" * (4 << 20)}
    path = tmp_path / "long.ndjson"
    path.write_text(json.dumps(row) + "\n")
    reads: list[int] = []
    real_open = Path.open

    class Counting:
        def __init__(self, file: object) -> None:
            self.file = file

        def read(self, n: int) -> bytes:
            reads.append(n)
            return self.file.read(n)  # type: ignore[attr-defined]

        def tell(self) -> int:
            return self.file.tell()  # type: ignore[attr-defined]

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()  # type: ignore[attr-defined]

    def counting_open(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real_open(self, mode, *args, **kwargs)  # type: ignore[call-overload]
        return Counting(handle) if self == path and mode == "rb" else handle

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream, "BLOCK_BYTES", 1 << 16)
        patch.setattr(Path, "open", counting_open)
        assert vecloss.run(str(path)).rows == 1
    assert len(reads) <= (path.stat().st_size >> 16) + 2  # each byte read once: no re-reading


def test_a_pretty_printed_json_array_is_parsed_a_block_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import vecloss.io._stream as stream

    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(portfolio(3_000, seed=2).to_dicts(), indent=2))
    parsed: list[int] = []
    real = stream.parse_lines

    def counting(chunk: bytes | bytearray, schema: dict | None) -> pl.DataFrame | None:
        parsed.append(len(chunk))
        return real(chunk, schema)

    monkeypatch.setattr(stream, "BLOCK_BYTES", 8_192)
    monkeypatch.setattr(stream, "parse_lines", counting)
    assert vecloss.run(str(path)).rows == 3_000
    assert len(parsed) > path.stat().st_size // 8_192  # never the whole file at once
    assert max(parsed) <= 8_192 + 200  # a block and at most one object carried over


# -- cases 12, 13, 14: Dask ----------------------------------------------------------------


@pytest.fixture
def folder_of_parts(tmp_path: Path) -> Path:
    where = tmp_path / "parts"
    where.mkdir()
    for k in range(4):
        portfolio(300_000, seed=k).with_columns(pl.col("buildingId") + k * 300_000).write_parquet(
            where / f"p{k}.parquet", row_group_size=50_000
        )
    return where


def test_a_port_that_is_not_a_scheduler_fails_fast(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        done = subprocess.run(
            [
                *CLI,
                "run",
                str(EXAMPLE),
                "--engine",
                "dask",
                "--scheduler",
                f"tcp://127.0.0.1:{server.server_address[1]}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "VECLOSS_DASK_CONNECT": "5"},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started < 60
    assert done.returncode == 2, done.stderr
    assert "Dask scheduler" in done.stderr
    assert "internal error" not in done.stderr


def test_a_cluster_without_workers_fails_instead_of_hanging(
    folder_of_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("VECLOSS_DASK_WORKERLESS", "2")
    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        started = time.monotonic()
        with pytest.raises(vecloss.InputError, match="no worker"):
            vecloss.run(str(folder_of_parts), engine="dask", scheduler=client)
        assert time.monotonic() - started < 30


def test_relative_paths_reach_remote_workers(
    folder_of_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.chdir(folder_of_parts.parent)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(os.chdir, "/")  # the worker works elsewhere, as a remote one does
        summary = vecloss.run("parts", "out/", engine="dask", scheduler=client)
    assert summary.rows == 1_200_000
    assert pl.scan_parquet(folder_of_parts.parent / "out").select(pl.len()).collect().item() == (
        1_200_000
    )


def test_ctrl_c_stops_a_dask_run(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    folder_of_parts = tmp_path / "big"
    folder_of_parts.mkdir()
    for k in range(4):
        portfolio(3_000_000, seed=k).with_columns(
            pl.col("buildingId") + k * 3_000_000
        ).write_parquet(folder_of_parts / f"p{k}.parquet", row_group_size=100_000)
    out = folder_of_parts.parent / "out"
    process = subprocess.Popen(
        [
            *CLI,
            "run",
            str(folder_of_parts),
            "--engine",
            "dask",
            "--workers",
            "2",
            "--batch-rows",
            "2000",  # small batches: a run of a few seconds, long enough to interrupt
            "-o",
            f"{out}/",
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: Ctrl-C from a terminal reaches all of it
    )
    run = psutil.Process(process.pid)

    def working() -> bool:  # workers are writing parts (the cluster is up), none published
        staged = [p for p in out.parent.iterdir() if ".vecloss-" in p.name and p.is_dir()]
        parts = [f for folder in staged for f in folder.iterdir()]
        return len(run.children(recursive=True)) >= 3 and bool(parts) and not out.exists()

    signal_mid_run(process, signal.SIGINT, working, group=True)  # as a terminal's Ctrl-C
    started = time.monotonic()
    _, err = process.communicate(timeout=90)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 60
    assert "interrupted" in err
    assert "Traceback" not in err
    assert not out.exists()
    assert _leftovers(folder_of_parts.parent) == []
