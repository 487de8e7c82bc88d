"""The HTTP floors: the same compiled SQL behind a bare Flask view, and a trivial JSON view.

The bare view runs the API's query shape and fills the series with the compiled query's
own ``fill`` (its value type, and its ``empty`` value for a bucket without rows: 0 for
counts and sums, null for a ratio), so its answer is the API's ``data`` without the rest,
for every metric type.

Served by the same gunicorn command line as the API, so the difference
between the API and these views is what the API itself adds (validation,
auth, existence checks, logging, response models, headers). No validation,
no auth, no logging here: the floor must be the least a Flask view can do.
Run as ``python -m daybook.bench.bare --port P --workers W --threads T``: the
API's own gunicorn application class and options (``api.serve``), so the
server stack is identical.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, jsonify, request

from api.activity import API_SHAPE
from daybook.config import warehouse_from_env


def _fetcher(warehouse: Any, pool_size: int) -> Any:
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
        max_size=max(1, pool_size),
        kwargs={"autocommit": True, "options": "-c default_transaction_read_only=on"},
        open=True,
    )

    def fetch_postgres(sql: str, params: Any) -> list[tuple]:
        with pool.connection() as con:
            return con.execute(sql, params).fetchall()

    return fetch_postgres


def create_bare_app(pool_size: int = 4) -> Flask:
    """Routes: ``/bare/<entity>/<client_id>/<entity_id>?metric&granularity&start_date&end_date``,
    ``/bare/<entity>/<client_id>?...`` for the tenant's own (client-wide) series, whose query
    binds no entity id, and ``/trivial``."""
    from daybook.semantic import load_catalog

    warehouse = warehouse_from_env()
    catalog = load_catalog()
    compiled = {
        (entity, metric.name, granularity): catalog.compile(
            metric=metric.name,
            entity=entity,
            granularity=granularity,
            dialect=warehouse.dialect,
            shape=API_SHAPE,
        )
        for entity in catalog.entities
        for metric in catalog.metrics_for(entity)
        for granularity in ("daily", "weekly", "monthly", "quarterly")
    }
    fetch = _fetcher(warehouse, pool_size)
    app = Flask(__name__)

    def series(entity: str, client_id: str, entity_id: str | None) -> Any:
        args = request.args
        granularity = args.get("granularity", "daily")
        query = compiled[(entity, args["metric"], granularity)]
        start, end = date.fromisoformat(args["start_date"]), date.fromisoformat(args["end_date"])
        rows = fetch(
            query.sql,
            query.parameters(
                tenant_id=client_id, entity_id=entity_id, start_date=start, end_date=end
            ),
        )
        points = query.fill(rows, start, end)
        return jsonify({"data": [{"date": str(day), "value": value} for day, value in points]})

    @app.get("/bare/<entity>/<client_id>/<entity_id>")
    def bare(entity: str, client_id: str, entity_id: str) -> Any:
        return series(entity, client_id, entity_id)

    @app.get("/bare/<entity>/<client_id>")
    def bare_client_wide(entity: str, client_id: str) -> Any:
        return series(entity, client_id, None)

    @app.get("/trivial")
    def trivial() -> Any:
        return jsonify({"ok": True})

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the floor apps with ``api.serve``'s gunicorn application and options."""
    import argparse

    from api.serve import DaybookServer, gunicorn_options

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)

    class BareServer(DaybookServer):
        def load_wsgi_app(self) -> Any:
            return create_bare_app(pool_size=args.threads)

    options = gunicorn_options("127.0.0.1", args.port, args.workers, args.threads)
    options["proc_name"] = "daybook-bench-bare"
    options["worker_exit"] = None
    BareServer(options).run()


if __name__ == "__main__":
    main()
