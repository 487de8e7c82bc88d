"""The lowest floor: the compiled query through the raw database driver, in process.

No HTTP, no Flask: one connection (DuckDB read-only on the served snapshot,
psycopg with server-side prepared statements, a Spark Connect session on the snapshot's
database), the same SQL and parameters
the API runs, one request at a time.
"""

from __future__ import annotations

import time
from typing import Any

from api.activity import API_SHAPE
from daybook.bench.requests import Request
from daybook.config import Warehouse


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 (nearest rank) and mean of latencies in milliseconds."""
    ordered = sorted(samples_ms)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}

    def rank(share: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    return {
        "p50_ms": rank(0.50),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "mean_ms": sum(ordered) / len(ordered),
    }


def _connect(warehouse: Warehouse) -> Any:
    if warehouse.backend == "spark":
        # one Spark Connect session on the published snapshot, as the API's reader opens
        from daybook.serving.spark_snapshots import read_pointer
        from daybook.warehouse import connect

        con = connect(warehouse)
        snapshot = read_pointer(con)
        assert snapshot is not None
        con.execute(f"use {snapshot.database}")
        return con
    if warehouse.backend == "duckdb":
        import duckdb

        from daybook.serving import current_snapshot

        snapshot = current_snapshot(warehouse)
        assert snapshot is not None
        return duckdb.connect(str(snapshot.path), read_only=True)
    import psycopg

    return psycopg.connect(warehouse.pg_conninfo, autocommit=True, prepare_threshold=0)


def measure_driver(
    warehouse: Warehouse, catalog: Any, requests: list[Request], *, seconds: float
) -> dict[str, Any]:
    """Latency of the raw compiled queries, rotating through ``requests`` for ``seconds``."""
    compiled = {
        (request.entity, request.metric, request.granularity): catalog.compile(
            metric=request.metric,
            entity=request.entity,
            granularity=request.granularity,
            dialect=warehouse.dialect,
            shape=API_SHAPE,
        )
        for request in requests
    }
    con = _connect(warehouse)
    samples: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        index = 0
        while time.perf_counter() < deadline or index < len(requests):
            request = requests[index % len(requests)]
            query = compiled[(request.entity, request.metric, request.granularity)]
            params = query.parameters(
                tenant_id=request.client_id,
                entity_id=request.entity_id,
                start_date=request.start,
                end_date=request.end,
            )
            started = time.perf_counter()
            con.execute(query.sql, params).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
            index += 1
    finally:
        con.close()
    return {"requests": len(samples), **percentiles(samples)}
