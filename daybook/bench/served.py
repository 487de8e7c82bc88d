"""Reading what the API serves now, for the benchmark's checks and its refresh's start.

Apart from :mod:`daybook.bench.warehouses` (which makes and builds warehouses) so that
the phases and the arrivals can read the served marts without importing it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from daybook.config import Warehouse


def served_rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    """Rows of ``sql`` over the marts the API serves now: the current DuckDB snapshot, the
    PostgreSQL tables, or the current Spark snapshot, read as the API reads it (the same
    reader, so in a process already serving a DuckDB snapshot the connection settings
    agree, which DuckDB requires of two connections to one file)."""
    if warehouse.backend in ("duckdb", "spark"):
        reader = _snapshot_reader(warehouse)
        try:
            return reader.fetch_all(sql, [])
        finally:
            reader.close()
    from daybook.warehouse import connection

    with connection(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def _snapshot_reader(warehouse: Warehouse) -> Any:
    """The API's reader of the current snapshot (DuckDB file or Spark database)."""
    if warehouse.backend == "spark":
        from daybook.serving.spark_reader import SparkSnapshotReader

        return SparkSnapshotReader(warehouse)
    from daybook.serving.reader import SnapshotDataReader

    return SnapshotDataReader(warehouse)


def newest_served(warehouse: Warehouse) -> datetime | None:
    """When the newest heartbeat the API serves was received (the refresh's starting point)."""
    if warehouse.backend == "spark":
        from daybook.serving.spark_snapshots import current_spark_snapshot

        snapshot = current_spark_snapshot(warehouse)
        return snapshot.newest_received_at if snapshot else None
    from daybook.serving import freshness

    return freshness(warehouse)
