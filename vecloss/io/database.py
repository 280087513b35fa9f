"""Database sources and outputs through ADBC: SQLite (embedded) and PostgreSQL.

``sqlite:///path/to/portfolio.db`` and ``postgresql://user@host:port/db``. A
table or a query is read as an Arrow record-batch stream (the driver's own
cursor, so memory stays bounded by the batch); results are written back as a
table replaced in one transaction. The drivers are optional extras, imported
only for a database URI.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

from vecloss.exceptions import InputError, UsageError, require

__all__ = [
    "DatabaseOutput",
    "check_driver",
    "connect",
    "is_database_uri",
    "iter_batches",
    "query_columns",
    "safe_uri",
    "table_query",
]

SCHEMES = ("sqlite://", "postgresql://", "postgres://")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def is_database_uri(source: object) -> bool:
    """Whether ``source`` names a database rather than a file."""
    return isinstance(source, str) and source.startswith(SCHEMES)


def safe_uri(uri: str) -> str:
    """The URI without its password (``user:password@`` or ``password=``), for messages."""
    masked = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", uri)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", masked)


def _driver(uri: str) -> str:
    return "adbc_driver_sqlite" if uri.startswith("sqlite://") else "adbc_driver_postgresql"


def check_driver(uri: str) -> None:
    """Raise :class:`UsageError` (exit 2, the extra named) unless ``uri``'s driver is installed."""
    require(_driver(uri), f"{safe_uri(uri)} ({_driver(uri)})", "sql")


def connect(uri: str) -> Any:
    """An ADBC DB-API connection for ``uri``; an install hint if the driver is missing."""
    sqlite = uri.startswith("sqlite://")
    check_driver(uri)
    driver = importlib.import_module(f"{_driver(uri)}.dbapi")
    # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy reads them
    target = uri.removeprefix("sqlite:///") if sqlite else uri
    try:
        return driver.connect(target)
    except Exception as exc:
        msg = (
            f"{safe_uri(uri)}: cannot connect: {exc}; hint: check the URI and that the server runs"
        )
        raise InputError(msg) from exc


def table_query(table: str) -> str:
    """``select * from <table>``, with the name checked (no SQL in a table name)."""
    if not _IDENTIFIER.match(table):
        msg = f"invalid table name {table!r}; hint: a name like buildings or schema.buildings"
        raise UsageError(msg)
    return f"SELECT * FROM {table}"


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
            reason = str(exc).splitlines()[0]
            msg = f"{safe_uri(uri)}: the query failed: {reason}; hint: check the table or query"
            raise InputError(msg) from exc
        names = reader.schema.names
        keep = names if columns is None else [c for c in columns if c in names]
        empty = True
        for batch in reader:
            frame = pl.DataFrame(pl.from_arrow(batch)).select(keep)
            for start in range(0, frame.height, batch_rows):
                empty = False
                yield frame.slice(start, batch_rows)
        if empty:
            yield pl.DataFrame(pl.from_arrow(reader.schema.empty_table())).select(keep)
    finally:
        conn.close()


def query_columns(uri: str, query: str) -> list[str]:
    """The column names ``query`` returns, without reading its rows."""
    for frame in iter_batches(uri, f"SELECT * FROM ({query}) AS q LIMIT 0", batch_rows=1):
        return list(frame.columns)
    return []


class DatabaseOutput:
    """A table written batch by batch and replaced in one transaction.

    On a clean exit the new table replaces the old one at commit; on an error
    the transaction is rolled back and an existing table is left as it was.
    """

    def __init__(self, uri: str, table: str) -> None:
        table_query(table)  # checks the name
        check_driver(uri)
        self.uri, self.table = uri, table
        self._conn: Any = None
        self._first = True

    def __enter__(self) -> DatabaseOutput:
        self._conn = connect(self.uri)  # DB-API: autocommit off, one transaction
        return self

    def write(self, frame: pl.DataFrame) -> None:
        cursor = self._conn.cursor()
        mode = "replace" if self._first else "append"
        cursor.adbc_ingest(self.table, frame.to_arrow(), mode=mode)
        cursor.close()
        self._first = False

    def header(self, empty: pl.DataFrame) -> None:
        """Nothing to do: every batch, even an empty one, is ingested."""
        del empty

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._conn.close()
