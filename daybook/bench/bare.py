"""The HTTP floors: the same compiled SQL behind a bare Flask view, and a trivial JSON view.

Served by the same gunicorn command line as the API, so the difference
between the API and these views is what the API itself adds (validation,
auth, existence checks, logging, response models, headers). No validation,
no auth, no logging here: the floor must be the least a Flask view can do.
Run as ``gunicorn 'daybook.bench.bare:create_bare_app()'``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, jsonify, request

from daybook.config import warehouse_from_env


def _fetcher(warehouse: Any) -> Any:
    """A ``fetch(sql, params) -> rows`` through the same data access the API uses."""
    if warehouse.backend == "duckdb":
        from daybook.serving import SnapshotReader

        reader = SnapshotReader(warehouse)

        def fetch_duckdb(sql: str, params: Any) -> list[tuple]:
            with reader.connection() as con:
                return con.execute(sql, params).fetchall()

        return fetch_duckdb
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(
        warehouse.pg_conninfo,
        min_size=1,
        max_size=8,
        kwargs={"autocommit": True, "options": "-c default_transaction_read_only=on"},
        open=True,
    )

    def fetch_postgres(sql: str, params: Any) -> list[tuple]:
        with pool.connection() as con:
            return con.execute(sql, params).fetchall()

    return fetch_postgres


def create_bare_app() -> Flask:
    """Routes: ``/bare/<entity>/<client_id>/<entity_id>?metric&granularity&start_date&end_date``
    and ``/trivial``."""
    from daybook.semantic import load_catalog

    warehouse = warehouse_from_env()
    catalog = load_catalog()
    compiled = {
        (entity, metric.name, granularity): catalog.compile(
            metric=metric.name, entity=entity, granularity=granularity, dialect=warehouse.dialect
        )
        for entity in catalog.entities
        for metric in catalog.metrics_for(entity)
        for granularity in ("daily", "weekly", "monthly", "quarterly")
    }
    fetch = _fetcher(warehouse)
    app = Flask(__name__)

    @app.get("/bare/<entity>/<client_id>/<entity_id>")
    def bare(entity: str, client_id: str, entity_id: str) -> Any:
        args = request.args
        query = compiled[(entity, args["metric"], args.get("granularity", "daily"))]
        rows = fetch(
            query.sql,
            query.parameters(
                tenant_id=client_id,
                entity_id=entity_id,
                start_date=date.fromisoformat(args["start_date"]),
                end_date=date.fromisoformat(args["end_date"]),
            ),
        )
        return jsonify(
            {"data": [{"date": str(bucket)[:10], "value": int(value)} for bucket, value in rows]}
        )

    @app.get("/trivial")
    def trivial() -> Any:
        return jsonify({"ok": True})

    return app
