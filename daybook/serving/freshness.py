"""How fresh is what the API serves: the newest heartbeat included, on both backends."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from daybook.config import Warehouse
from daybook.serving._util import _as_utc, _duckdb_has, _postgres_has
from daybook.serving.pointer import POINTER_NAME, current_snapshot, pointer_stamp, serving_dir
from daybook.serving.reader import SnapshotDataReader, SnapshotReader

# Where "the newest data included" is read from, first match wins: the
# deduplicated valid heartbeats the marts are built from, else the raw input.
# (The deduplicated model has an index on received_at_utc on PostgreSQL, so
# max() there is an index probe.)
FRESHNESS_SOURCES: tuple[tuple[str, str], ...] = (
    ("intermediate", "int_heartbeats_deduplicated"),
    ("intermediate", "int_heartbeats_validated"),
    ("raw", "heartbeats"),
)


def newest_included(
    con: Any, backend: str, sources: tuple[tuple[str, str], ...] = FRESHNESS_SOURCES
) -> datetime | None:
    """Max ``received_at_utc`` of the heartbeats a built warehouse includes, from ``con``
    (the first of ``sources`` that exists)."""
    for schema, table in sources:
        if backend == "duckdb":
            exists = _duckdb_has(con, schema, table)
        else:
            exists = _postgres_has(con, schema, table)
        if not exists:
            continue
        cursor = con.cursor()
        cursor.execute(f'select max(received_at_utc) from "{schema}"."{table}"')
        row = cursor.fetchone()
        return _as_utc(row[0]) if row and row[0] is not None else None
    return None


def freshness(warehouse: Warehouse, con: Any | None = None) -> datetime | None:
    """When the newest data the API serves was received (UTC), or None if nothing is built.

    DuckDB: the current snapshot's record (no database access). PostgreSQL: a
    small query on the warehouse (``con`` may be a pooled connection).
    """
    if warehouse.backend == "duckdb":
        snapshot = current_snapshot(warehouse)
        return snapshot.newest_received_at if snapshot else None
    if con is not None:
        return newest_included(con, "postgres")
    from daybook.warehouse import connection

    with connection(warehouse, read_only=True) as own:
        try:
            return newest_included(own, "postgres")
        finally:
            own.rollback()


class FreshnessCache:
    """Per-process freshness with a short time-to-live, so headers cost no query per request.

    On DuckDB the reader's pinned snapshot is exact and free; on PostgreSQL the
    value is re-read at most every ``ttl`` seconds (a second is invisible
    against the five-minute freshness promise).
    """

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        reader: SnapshotReader | None = None,
        connect: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        ttl: float = 1.0,
    ):
        self.warehouse = warehouse
        self.reader = reader
        self.connect = connect
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: datetime | None = None
        self._expires = 0.0
        self._stamp: tuple[int, int, int] | None = None

    def _pointer_freshness(self) -> datetime | None:
        """The current snapshot's freshness, re-reading the pointer only when it changed."""
        pointer = serving_dir(self.warehouse) / POINTER_NAME
        stamp = pointer_stamp(pointer)
        if stamp is None or stamp != self._stamp:
            value = freshness(self.warehouse)
            with self._lock:
                self._value, self._stamp = value, stamp
            return value
        return self._value

    def __call__(self) -> datetime | None:
        if self.warehouse.backend == "duckdb":
            if self.reader is not None:
                snapshot = self.reader.thread_snapshot() or self.reader.current()
                return snapshot.newest_received_at
            return self._pointer_freshness()
        now = time.monotonic()
        if now < self._expires:
            return self._value
        with self._lock:
            if now >= self._expires:  # another thread may have refreshed it meanwhile
                if self.connect is not None:
                    with self.connect() as con:
                        self._value = freshness(self.warehouse, con)
                else:
                    self._value = freshness(self.warehouse)
                self._expires = time.monotonic() + self.ttl
            return self._value


def freshness_source(warehouse: Warehouse, reader: Any = None) -> Callable[[], datetime | None]:
    """The freshness callable for a warehouse and the API's reader.

    With a :class:`SnapshotDataReader` the time is that of the snapshot the
    request's thread read; with a pooled PostgreSQL reader (``.connection()``)
    the query borrows a pooled connection.
    """
    if isinstance(reader, SnapshotDataReader):
        return FreshnessCache(warehouse, reader=reader.snapshots)
    newest = getattr(reader, "newest_received_at", None)
    if callable(newest):  # a Spark snapshot reader: its current snapshot's record, no query
        return newest
    connect = getattr(reader, "connection", None) if warehouse.backend == "postgres" else None
    return FreshnessCache(warehouse, connect=connect)
