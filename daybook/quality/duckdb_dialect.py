"""A DuckDB SQLAlchemy dialect whose query results survive the end of a transaction.

Why this exists: Great Expectations 1.x runs each metric query as
``with engine.connect() as c: result = c.execute(q)`` and reads ``result``
*after* the block has closed the connection. Closing rolls back the
transaction that duckdb-engine opened (``do_begin`` calls ``BEGIN``), and in
DuckDB a rollback discards the connection's pending result, so every fetch
came back empty and GX failed every metric with ``IndexError: list index out
of range`` (issue 5). PostgreSQL is unaffected because psycopg buffers results
on the client.

The fix keeps duckdb-engine and changes one thing: every SQLAlchemy cursor
runs on its own DuckDB cursor (``connection.cursor()``, a child connection to
the same database), so its result belongs to that cursor and is untouched by
the parent's ``ROLLBACK``. Results still stream from DuckDB; nothing is
buffered in Python beyond what the caller fetches. The dialect registers as
``duckdb+daybook://`` and keeps the name ``duckdb``, so GX treats it exactly
as plain duckdb-engine.
"""

from __future__ import annotations

import contextlib
import weakref
from pathlib import Path
from typing import Any

from duckdb_engine import ConnectionWrapper, CursorWrapper, Dialect
from sqlalchemy.dialects import registry

from daybook.warehouse import DUCKDB_CATALOG, duckdb_config, duckdb_instance, use_duckdb_file

DRIVER = "daybook"
# Every DuckDB connection this dialect opened, per database file: GX builds engines of its
# own and never disposes them, and DuckDB refuses to reopen a file with another
# configuration (read-only vs read-write) while any connection to it is alive.
_OPEN: dict[str, weakref.WeakSet] = {}


class _OwnResultCursor(CursorWrapper):
    """A duckdb-engine cursor over a child DuckDB cursor that it really closes."""

    def close(self) -> None:
        self._CursorWrapper__c.close()  # type: ignore[attr-defined]


class _ChildCursorConnection(ConnectionWrapper):
    """A duckdb-engine connection that hands out one child DuckDB cursor per SQLAlchemy cursor."""

    def cursor(self) -> _OwnResultCursor:
        duckdb_connection = self._ConnectionWrapper__c  # type: ignore[attr-defined]
        cursor = duckdb_connection.cursor()
        if self.__dict__.get("attached_file"):  # a child starts in the in-memory catalog
            cursor.execute(f"use {DUCKDB_CATALOG}")
        return _OwnResultCursor(cursor, self)


class DaybookDuckDBDialect(Dialect):
    """duckdb-engine with per-cursor results (see the module docstring)."""

    supports_statement_cache = False

    def connect(self, *cargs: Any, **cparams: Any) -> _ChildCursorConnection:
        database = str(cparams.get("database", ""))
        # the warehouse file is attached as `daybook`, as everywhere (daybook/warehouse.py)
        is_file = bool(database) and not database.startswith(":memory:")
        url_config = dict(cparams.get("url_config", {}))
        read_only = str(url_config.pop("access_mode", "")).lower() == "read_only"
        if is_file:
            cparams["url_config"] = url_config | duckdb_config(Path(database))
            cparams["database"] = duckdb_instance(Path(database), read_only, purpose="checks")
        wrapper = super().connect(*cargs, **cparams)
        duckdb_connection = wrapper._ConnectionWrapper__c  # type: ignore[attr-defined]
        if is_file:
            use_duckdb_file(duckdb_connection, Path(database), read_only)
        _OPEN.setdefault(database, weakref.WeakSet()).add(duckdb_connection)
        connection = _ChildCursorConnection(duckdb_connection)
        connection.__dict__["attached_file"] = is_file
        return connection


def close_connections(database: str) -> None:
    """Close every connection (and so its cursors) this dialect opened to ``database``.

    Releases the file for other connections in this process and for other processes.
    """
    for duckdb_connection in list(_OPEN.pop(database, ())):
        # an already closed or broken connection has nothing left to release
        with contextlib.suppress(Exception):
            duckdb_connection.close()


def register() -> None:
    """Make ``duckdb+daybook://`` URLs resolve to this dialect (idempotent)."""
    registry.register(f"duckdb.{DRIVER}", __name__, DaybookDuckDBDialect.__name__)
