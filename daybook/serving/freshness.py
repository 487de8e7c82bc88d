"""How fresh is a warehouse: the newest heartbeat its marts include, warehouse-wide.

Recorded with each published snapshot and reported by ``daybook refresh`` and the
bench. The API's ``Last-Modified`` is not this time but each client's own
(``fct_client_freshness``, ``api.client_freshness``): this one would tell a client
when other clients' data arrived.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from daybook.config import Warehouse
from daybook.raw_schema import newest_received_sql
from daybook.serving._util import _as_utc, _duckdb_has, _postgres_has
from daybook.serving.pointer import current_snapshot

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
    (the first of ``sources`` that exists), within the years 1 to 9999 (a time outside
    them, written straight into raw, could not be read into Python)."""
    for schema, table in sources:
        if backend == "duckdb":
            exists = _duckdb_has(con, schema, table)
        else:
            exists = _postgres_has(con, schema, table)
        if not exists:
            continue
        cursor = con.cursor()
        cursor.execute(newest_received_sql(f'"{schema}"."{table}"'))
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
