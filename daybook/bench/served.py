"""The API as the benchmark and the refresh tests serve it: snapshots on DuckDB, cache headers.

``api.app:create_app`` plus the two serving hooks of :mod:`daybook.serving`
(applied here too in case the application factory has not wired them yet;
both are idempotent). Run as ``gunicorn 'daybook.bench.served:create_served_app()'``.
"""

from __future__ import annotations

from typing import Any

from daybook.config import warehouse_from_env
from daybook.serving import SnapshotDataReader, freshness_source, install_http_caching


def create_served_app() -> Any:
    from api.app import create_app
    from api.data import DuckDBReader

    warehouse = warehouse_from_env()
    config: dict[str, Any] = {"warehouse": warehouse}
    if warehouse.backend == "duckdb":
        config["reader"] = SnapshotDataReader(warehouse)
    app = create_app(config)
    reader = app.extensions["daybook"].reader
    if isinstance(reader, DuckDBReader):  # pragma: no cover - guard against a build-file reader
        raise RuntimeError("the API must read DuckDB snapshots, not the build database")
    install_http_caching(app, freshness_source(warehouse, reader))
    return app
