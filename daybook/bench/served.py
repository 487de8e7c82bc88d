"""Reading what the API serves now, for the benchmark's checks and its refresh's start.

Apart from :mod:`daybook.bench.warehouses` (which makes and builds warehouses) so that
the phases and the arrivals can read the served marts without importing it back.
"""

from __future__ import annotations

from datetime import datetime

from daybook.config import Warehouse


def served_rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    """Rows of ``sql`` over the marts the API serves now: the current DuckDB snapshot, the
    PostgreSQL tables, or the current Spark snapshot, read as the API reads it."""
    if warehouse.backend == "duckdb":
        import duckdb

        from daybook.serving import current_snapshot

        snapshot = current_snapshot(warehouse)
        assert snapshot is not None, "publish a snapshot before reading the served marts"
        with duckdb.connect(str(snapshot.path), read_only=True) as con:
            return con.execute(sql).fetchall()
    if warehouse.backend == "spark":
        from daybook.serving.spark_reader import SparkSnapshotReader

        reader = SparkSnapshotReader(warehouse)
        try:
            return reader.fetch_all(sql, [])
        finally:
            reader.close()
    from daybook.warehouse import connection

    with connection(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def newest_served(warehouse: Warehouse) -> datetime | None:
    """When the newest heartbeat the API serves was received (the refresh's starting point)."""
    if warehouse.backend == "spark":
        from daybook.serving.spark_snapshots import current_spark_snapshot

        snapshot = current_spark_snapshot(warehouse)
        return snapshot.newest_received_at if snapshot else None
    from daybook.serving import freshness

    return freshness(warehouse)
