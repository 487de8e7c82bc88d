"""``daybook serve``: the API under gunicorn, started programmatically.

On DuckDB it first publishes a serving snapshot when none exists (see
:func:`ensure_serving_snapshot`). Defaults suit a small machine: one
worker process per core (each holds its own read-only DuckDB connection or
PostgreSQL pool) and a few threads per
worker (``gthread``), since a request mostly waits on the warehouse. The app
is built in each worker after the fork (no preload), so no connection is
shared across processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import click
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from daybook.config import Warehouse, warehouse_from_env


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it cannot parse, in the contract's JSON error shape.

    gunicorn answers malformed HTTP (a bad header name, an oversized request
    line) itself, before Flask sees the request, with an HTML page; this
    replaces that page so that no answer of the API is ever HTML.
    """
    code = "invalid_parameter" if 400 <= status_int < 500 else "internal_error"
    body = json.dumps(
        {"error": {"code": code, "message": f"Malformed HTTP request: {mesg}", "details": {}}}
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, (head + body).encode("latin-1", "replace"))


class DaybookServer(BaseApplication):
    """A gunicorn application whose WSGI app is ``create_app(config)``."""

    def __init__(self, options: dict[str, Any], app_config: dict[str, Any] | None = None):
        self.options = options
        self.app_config = app_config or {}
        super().__init__()

    def load_config(self) -> None:
        gunicorn_util.write_error = write_json_error  # workers look it up at call time
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app(self.app_config)


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,  # the app logs one JSON line per request itself
        "errorlog": "-",
        "preload_app": False,
        "proc_name": "daybook-api",
        "post_fork": _worker_setup,
        "worker_exit": _close_warehouse,
    }


def _worker_setup(server: Any, worker: Any) -> None:
    """Keep DuckDB from importing pandas/pyarrow in each worker (~80 MB resident apiece)."""
    from daybook.serving import keep_pandas_out_of_duckdb

    keep_pandas_out_of_duckdb()


def _close_warehouse(server: Any, worker: Any) -> None:
    """Close the worker's warehouse connections before its interpreter exits."""
    services = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("daybook")
    if services is not None:
        services.reader.close()


_PUBLISH = (
    "import sys\n"
    "from daybook.config import parse_database_url\n"
    "from daybook.serving import publish_snapshot\n"
    "publish_snapshot(parse_database_url(sys.argv[1]))\n"
)


def ensure_serving_snapshot(warehouse: Warehouse) -> str:
    """On DuckDB, make sure a serving snapshot exists, so workers never hold the build file.

    A worker holding the build file (even read-only) would lock ``daybook
    build``/``refresh`` out of it. The first snapshot is published in a child
    process, because importing DuckDB in gunicorn's master before it forks
    workers makes them abort at exit. When publishing fails (nothing built yet,
    or a build holds the file) the file itself is served and the reason shown.
    """
    if warehouse.backend != "duckdb":
        return "PostgreSQL tables"
    from daybook.serving import current_snapshot

    if current_snapshot(warehouse) is None:
        result = subprocess.run(
            [sys.executable, "-c", _PUBLISH, warehouse.url],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            click.echo(f"warning: no serving snapshot could be published ({reason})", err=True)
            return f"{warehouse.duckdb_path} directly"
    snapshot = current_snapshot(warehouse)
    return f"DuckDB snapshot {snapshot.id}" if snapshot else f"{warehouse.duckdb_path} directly"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes [default: one per core]."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Per worker."
)
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the API with gunicorn on the warehouse named by DAYBOOK_DATABASE_URL."""
    workers = workers or default_workers()
    source = ensure_serving_snapshot(warehouse_from_env())
    click.echo(
        f"Serving Daybook API on http://{host}:{port} ({workers} workers x {threads} threads) "
        f"from {source}; docs at http://{host}:{port}/v2/docs",
        err=True,
    )
    DaybookServer(gunicorn_options(host, port, workers, threads), {"pool_size": threads}).run()
