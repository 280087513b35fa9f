"""Database sources and outputs through ADBC: SQLite (embedded) and PostgreSQL.

``sqlite:///path/to/portfolio.db`` and ``postgresql://user@host:port/db``. A
table or a query is read as an Arrow record-batch stream (the driver's own
cursor, so memory stays bounded by the batch); results are written back as a
table replaced in one transaction. The drivers are optional extras, imported
only for a database URI.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from vecloss.exceptions import InputError, UsageError, require
from vecloss.io._errors import first_line
from vecloss.io._stream import parse_numbers
from vecloss.io.atomic import signals_held
from vecloss.schema import NUMERIC

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DatabaseOutput",
    "check_driver",
    "check_exists",
    "check_file",
    "connect",
    "is_database_uri",
    "iter_batches",
    "query_columns",
    "safe_uri",
    "same_table",
    "table_query",
]

SCHEMES = ("sqlite://", "postgresql://", "postgres://")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def is_database_uri(source: object) -> bool:
    """Whether ``source`` names a database rather than a file."""
    return isinstance(source, str) and source.startswith(SCHEMES)


def safe_uri(uri: str) -> str:
    """The URI without its password (``user:password@`` or ``password=``), for messages.

    The password runs to the last ``@`` before the query: one holding a raw ``@`` is masked
    whole (hardening C7)."""
    masked = re.sub(r"://([^:/@]+):[^?#]*@", r"://\1:***@", uri)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", masked)


def _driver(uri: str) -> str:
    return "adbc_driver_sqlite" if uri.startswith("sqlite://") else "adbc_driver_postgresql"


def check_driver(uri: str) -> None:
    """Raise :class:`UsageError` (exit 2, the extra named) unless ``uri``'s driver is installed."""
    require(_driver(uri), f"{safe_uri(uri)} ({_driver(uri)})", "sql")


#: Seconds a write waits for a table another run (or program) holds, before it gives up.
LOCK_SECONDS = 30


def sqlite_path(uri: str) -> Path:
    """The file of ``sqlite:///relative.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's)."""
    return Path(uri.removeprefix("sqlite:///"))


def check_file(uri: str) -> None:
    """A SQLite output must be a file: an in-memory database (``:memory:``, or a SQLite
    ``file:`` URI, which the driver may open in memory) keeps nothing (hardening D6)."""
    if not uri.startswith("sqlite://"):
        return
    name = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
    if name in ("", ":memory:") or name.startswith("file:"):  # (sqlite:// is SQLAlchemy's memory)
        msg = (
            f"{safe_uri(uri)}: not a database file (an in-memory database keeps nothing once "
            "the run ends); hint: name a file, e.g. sqlite:///losses.db"
        )
        raise UsageError(msg)


def check_exists(uri: str) -> None:
    """A SQLite source must be an existing file: reading never creates an empty database."""
    if uri.startswith("sqlite://") and not sqlite_path(uri).is_file():
        msg = f"{uri}: no such database file; hint: check the path (sqlite:///relative.db)"
        raise InputError(msg)


def connect(uri: str) -> Any:
    """An ADBC DB-API connection for ``uri``; an install hint if the driver is missing.

    Writes wait up to :data:`LOCK_SECONDS` for a lock another connection holds.
    """
    sqlite = uri.startswith("sqlite://")
    check_driver(uri)
    driver = importlib.import_module(f"{_driver(uri)}.dbapi")
    target = str(sqlite_path(uri)) if sqlite else uri
    try:
        conn = driver.connect(target)
    except Exception as exc:
        said = " ".join(str(exc).split())  # (libpq's lines as one: a message is one line)
        msg = (
            f"{safe_uri(uri)}: cannot connect: {said}; hint: check the URI and that the server runs"
        )
        raise InputError(msg) from exc
    cursor = conn.cursor()
    try:
        if sqlite:
            cursor.execute(f"PRAGMA busy_timeout = {LOCK_SECONDS * 1000}")
        else:
            cursor.execute(f"SET lock_timeout = '{LOCK_SECONDS}s'")
            conn.commit()
    finally:
        cursor.close()
    return conn


def _parts(table: str) -> tuple[str | None, str]:
    """``schema.table`` or ``table``, the name checked (no SQL in a table name)."""
    if not _IDENTIFIER.match(table):
        msg = f"invalid table name {table!r}; hint: a name like buildings or schema.buildings"
        raise UsageError(msg)
    schema, _, name = table.rpartition(".")
    return schema or None, name


def _quoted(table: str) -> str:
    schema, name = _parts(table)
    return f'"{schema}"."{name}"' if schema else f'"{name}"'


def table_query(table: str) -> str:
    """``SELECT * FROM "schema"."table"``: names are used exactly as given (quoted), for
    reading as for writing, so a table vecloss wrote reads back by the same name."""
    return f"SELECT * FROM {_quoted(table)}"


def same_table(uri: str, query: str, out_uri: str, out_table: str) -> bool:
    """Whether an output table is the source's table (or named by its query): the same
    database and the same name, quoted or not."""
    if _database_of(uri) != _database_of(out_uri):
        return False
    _, name = _parts(out_table)
    words = {w.strip('"').lower() for w in re.findall(r'"[^"]+"|[A-Za-z_][A-Za-z0-9_]*', query)}
    return name.lower() in words


def _database_of(uri: str) -> str:
    if uri.startswith("sqlite://"):
        return "sqlite:" + str(sqlite_path(uri).resolve())
    return re.sub(r"://[^@/]*@", "://", uri).split("?")[0].rstrip("/").lower()


def iter_batches(
    uri: str, query: str, *, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """Run ``query`` and yield its rows in frames of at most ``batch_rows`` rows."""
    conn = connect(uri)
    try:
        cursor = conn.cursor()
        if uri.startswith("sqlite://"):
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
        try:
            cursor.execute(query)
            reader: pa.RecordBatchReader = cursor.fetch_record_batch()
        except Exception as exc:
            raise _query_failed(uri, exc) from exc
        names = reader.schema.names
        keep = names if columns is None else [c for c in columns if c in names]
        empty = True
        batches = iter(reader)
        while True:
            try:  # (the database can fail after the first rows: a division by zero at row n)
                batch = next(batches, None)
            except Exception as exc:
                raise _query_failed(uri, exc) from exc
            if batch is None:
                break
            frame = _as_frame(batch).select(keep)
            for start in range(0, frame.height, batch_rows):
                empty = False
                yield frame.slice(start, batch_rows)
        if empty:
            yield _as_frame(reader.schema.empty_table()).select(keep)
    finally:
        conn.close()


def _query_failed(uri: str, exc: Exception) -> InputError:
    reason = first_line(exc)
    hint = "check the table or query"
    if "type mismatch in column" in reason.lower():  # (SQLite: any value in any column)
        hint = (
            "SQLite keeps values of any type in a column, and the driver takes each column's "
            "type from the first rows; cast it in --query, e.g. CAST(buildingId AS TEXT) AS "
            "buildingId, or CAST(floor_area AS REAL) AS floor_area"
        )
    return InputError(f"{safe_uri(uri)}: the query failed: {reason}; hint: {hint}")


def _as_frame(data: pa.RecordBatch | pa.Table) -> pl.DataFrame:
    """A driver's batch as a frame. Values the driver hands over as text in an extension type
    (PostgreSQL's ``numeric``, which ADBC gives as its digits) come as that text, and the
    schema's number columns among them are parsed as Float64, as text files' are (a column
    with a value that does not parse stays text, so that validation names its rows). UUIDs
    (Arrow's ``arrow.uuid``, 16 bytes) come as their text, ``8-4-4-4-12`` lowercase hex digits,
    as PostgreSQL prints them: a UUID is a fine building id."""
    import pyarrow as pa  # (loaded with the driver)

    texts: list[str] = []
    uuids: list[str] = []
    columns = []
    for field, column in zip(data.schema, data.columns, strict=True):
        kind = field.type
        if isinstance(kind, pa.BaseExtensionType) and (
            pa.types.is_string(kind.storage_type) or isinstance(kind, pa.UuidType)
        ):
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            column = pa.chunked_array([c.storage for c in chunks], type=kind.storage_type)
            (uuids if isinstance(kind, pa.UuidType) else texts).append(field.name)
        columns.append(column)
    frame = pl.DataFrame(pl.from_arrow(pa.table(columns, names=data.schema.names)))
    if uuids:
        frame = frame.with_columns(_uuid_text(pl.col(name)) for name in uuids)
    numbers = [c.name for c in NUMERIC if c.name in texts]
    return parse_numbers(frame, numbers) if numbers else frame


def _uuid_text(raw: pl.Expr) -> pl.Expr:
    """16-byte UUIDs as ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    digits = raw.cast(pl.Binary).bin.encode("hex")
    parts = [digits.str.slice(start, size) for start, size in ((0, 8), (8, 4), (12, 4), (16, 4))]
    return pl.concat_str([*parts, digits.str.slice(20, 12)], separator="-")


def query_columns(uri: str, query: str) -> list[str]:
    """The column names ``query`` returns, without reading its rows."""
    for frame in iter_batches(uri, f"SELECT * FROM ({query}) AS q LIMIT 0", batch_rows=1):
        return list(frame.columns)
    return []


def _remove_if_empty(path: Path) -> None:
    """Remove a SQLite file this run made if it holds no table (nobody else wrote into it)."""
    sqlite = importlib.import_module("sqlite3")
    try:
        with contextlib.closing(sqlite.connect(path, timeout=1)) as conn:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite.Error:
        return
    if tables == 0:
        for leftover in (path, path.with_name(path.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _cancelled(exc: BaseException) -> bool:
    """Whether ``exc`` is ADBC's report of a call cancelled (on the main thread the driver
    manager answers Ctrl-C during a blocking call by cancelling it; vecloss runs those calls
    elsewhere, :func:`_off_main_thread`, and cancels them itself)."""
    status = getattr(exc, "status_code", None)
    return getattr(status, "name", None) == "CANCELLED" or str(exc).startswith("CANCELLED")


@cache
def _driver_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="vecloss-database")


def _off_main_thread(call: Callable[[], object], cancel: Callable[[], object]) -> None:
    """Run a driver's blocking ``call`` on a thread of its own, and on Ctrl-C (or SIGTERM)
    in the caller ``cancel`` it, wait for it to end, and raise the interruption.

    On the main thread ADBC's driver manager swaps Python's SIGINT handler for its own during
    a blocking call, which only cancels the statement: a Ctrl-C that lands as the statement
    ends (a COPY just done) cancels nothing and is lost, and the run goes on to commit (seen in
    ``test_u1_ctrl_c_on_a_postgresql_output_is_an_interruption``). Off the main thread the
    driver sets no handler, so every signal reaches Python's, in the caller."""
    done: Future[object] | None = None
    try:
        with signals_held():  # (one that lands as the call is handed over comes out below)
            done = _driver_thread().submit(call)
        done.result()
    except KeyboardInterrupt:  # (Ctrl-C, or SIGTERM: a subclass)
        if done is not None:
            with signals_held():  # (a second Ctrl-C waits for the statement to end)
                with contextlib.suppress(Exception):
                    cancel()
                with contextlib.suppress(Exception):  # (cancelled, or done just before)
                    done.result()
        raise


class DatabaseOutput:
    """A table written batch by batch and replaced in one transaction.

    On a clean exit the new table replaces the old one at commit; on an error
    the transaction is rolled back and an existing table is left as it was.
    """

    def __init__(self, uri: str, table: str) -> None:
        self.schema, self.name = _parts(table)  # checks the name
        check_file(uri)
        check_driver(uri)
        self.uri, self.table = uri, table
        self._conn: Any = None
        self._first = True
        self._created: Path | None = None  # a SQLite file this run made

    def __enter__(self) -> DatabaseOutput:
        if self.uri.startswith("sqlite://"):
            path = sqlite_path(self.uri)
            with contextlib.suppress(FileExistsError):  # made here, atomically, or not ours
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                self._created = path
        try:
            self._begin()
        except BaseException:  # interrupted or refused before any write: leave nothing
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            if self._created is not None:
                _remove_if_empty(self._created)
            raise
        return self

    def _begin(self) -> None:
        self._conn = connect(self.uri)  # DB-API: autocommit off, one transaction
        # One writer at a time, the others wait (up to LOCK_SECONDS): SQLite takes its write
        # lock up front (a deferred transaction that reads first would fail at once when two
        # upgrade together); PostgreSQL takes a lock on the table's name for the transaction.
        if self.uri.startswith("sqlite://"):
            statements = ["COMMIT", "BEGIN IMMEDIATE"]
        else:
            statements = [f"SELECT pg_advisory_xact_lock(hashtext('{self.table}'))"]
        cursor = self._conn.cursor()

        def begin() -> None:
            for statement in statements:
                cursor.execute(statement)
                if cursor.description is not None:  # (the driver reports a statement's
                    cursor.fetchall()  # error with its result: a lock not had, say)

        try:
            _off_main_thread(begin, cursor.adbc_cancel)
        except Exception as exc:
            raise self._failure(exc) from exc
        finally:
            cursor.close()

    def write(self, frame: pl.DataFrame) -> None:
        cursor = self._conn.cursor()
        mode = "replace" if self._first else "append"
        table = frame.to_arrow()
        try:
            _off_main_thread(
                lambda: cursor.adbc_ingest(self.name, table, mode=mode, db_schema_name=self.schema),
                cursor.adbc_cancel,
            )
        except Exception as exc:
            raise self._failure(exc) from exc
        finally:
            cursor.close()
        self._first = False

    def _failure(self, exc: Exception) -> BaseException:
        """The error to raise for a driver error: Ctrl-C if that is what it wraps (the driver
        turns an interrupted call into its own error), else an InputError saying why.

        A statement cancelled by the database is an error, not an interruption: vecloss's own
        cancel on Ctrl-C raises the interruption itself (:func:`_off_main_thread`), so this
        one came from elsewhere (a ``statement_timeout``, an administrator's
        ``pg_cancel_backend``) and the user is told which statement and how to go on."""
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, KeyboardInterrupt):  # Ctrl-C, or SIGTERM (a subclass)
                return type(cause)()
            cause = cause.__cause__ or cause.__context__
        reason = first_line(exc)
        lowered = reason.lower()
        if "locked" in lowered or "lock timeout" in lowered or "deadlock" in lowered:
            hint = f"another run or program holds the table (waited {LOCK_SECONDS} s); retry later"
        elif _cancelled(exc):
            hint = (
                "the database cancelled the statement (a statement_timeout, or someone "
                "cancelled it); nothing was written: raise the timeout, or run again"
            )
        elif "full" in lowered or "no space" in lowered:
            hint = "the disk is full: free some space, or write elsewhere"
        else:
            hint = "check the table name and your rights on the database"
        return InputError(f"{safe_uri(self.uri)} table {self.table}: {reason}; hint: {hint}")

    def header(self, empty: pl.DataFrame) -> None:
        """Nothing to do: every batch, even an empty one, is ingested."""
        del empty

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        failed = exc_type is not None
        try:
            if not failed:
                try:
                    with signals_held():
                        self._conn.commit()
                except Exception as error:
                    failed = True
                    raise self._failure(error) from error
            else:
                with contextlib.suppress(Exception):  # the first error is the one to report
                    self._conn.rollback()
        finally:
            with contextlib.suppress(Exception):
                self._conn.close()
            if failed and self._created is not None:
                _remove_if_empty(self._created)
