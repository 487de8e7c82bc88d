"""``daybook serve``: the API under gunicorn with uvicorn workers, started programmatically.

Why this stack. Under gunicorn's ``gthread`` worker a connection takes a
worker thread from its first byte: eight clients that send a request line and
never finish the headers tied up every thread for a minute. Production Python
services keep slow clients off the threads that run the application; of the
ways to do that (compared in docs/ARCHITECTURE.md, "Serving"), this keeps
gunicorn as the process manager and runs uvicorn's gunicorn worker
(``uvicorn_worker``) with uvloop and httptools:

- each worker reads and parses requests on its event loop, so an idle or
  half-sent request costs a socket and a small buffer, never a thread;
- only complete requests reach the Flask app, which runs unchanged on a pool
  of ``--threads`` threads per worker (:class:`api.asgi_bridge.WsgiOnThreads`:
  one hand-off per request, the answer buffered; the API's answers are small
  JSON), the concurrency the warehouse connection pool is sized for;
- :class:`api.http_protocol.DaybookProtocol` adds what uvicorn lacks: a
  deadline for reading a request, a bound on the request head's size, and the
  contract's JSON error for HTTP it cannot parse;
- ``Server: daybook`` replaces the server's name, with no version.

The worker class, its uvicorn settings and its stop signals are
:class:`api.worker.DaybookWorker`; this module holds the gunicorn application,
its options and hooks, and the ``daybook serve`` command.

Defaults suit a small machine: one worker process per core, each holding its
own read-only DuckDB connection or PostgreSQL pool. The app is built in each
worker after the fork (no preload), so no connection is shared across
processes, and nothing in gunicorn's master imports DuckDB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from api.asgi_bridge import WsgiOnThreads
from api.http_protocol import json_error_response
from api.metric_reload import server_hooks
from api.settings import Settings
from api.worker import GRACEFUL_SECONDS, DaybookWorker
from daybook.config import Warehouse, warehouse_from_env
from daybook.serving.store import serving_store

KEEPALIVE_SECONDS = 5  # an idle kept-alive connection is closed after this


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own answer to a request it cannot parse, in the contract's JSON error shape.

    Used only if a gunicorn worker class (``sync``, ``gthread``) serves the
    app; :class:`~api.http_protocol.DaybookProtocol` does the same for the uvicorn workers.
    """
    response = json_error_response(status_int, reason, f"Malformed HTTP request: {mesg}")
    gunicorn_util.write_nonblock(sock, response)


class DaybookServer(BaseApplication):
    """A gunicorn application whose app is ``create_app(config)`` on :class:`DaybookWorker`."""

    def __init__(self, options: dict[str, Any], app_config: dict[str, Any] | None = None):
        self.options = options
        self.app_config = app_config or {}
        super().__init__()

    def load_config(self) -> None:
        gunicorn_util.write_error = write_json_error  # workers look it up at call time
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load_wsgi_app(self) -> Any:
        """The WSGI app to serve (subclasses serve another)."""
        from api.app import create_app

        return create_app(self.app_config)

    def load(self) -> Any:
        app = self.load_wsgi_app()
        if self.cfg.worker_class is DaybookWorker:
            return WsgiOnThreads(app, self.cfg.threads)
        return app


def gunicorn_options(
    host: str, port: int, workers: int, threads: int, *, reads_spark: bool = False
) -> dict[str, Any]:
    """gunicorn's settings for ``daybook serve``; ``reads_spark``: the workers read a Spark
    warehouse, whose Connect client needs the pandas the other readers keep out."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,  # the size of each worker's application thread pool
        "worker_class": DaybookWorker,
        "timeout": 60,
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": None,  # the app logs one JSON line per request itself
        "errorlog": "-",
        "preload_app": False,
        "proc_name": "daybook-api",
        "post_fork": None if reads_spark else _keep_pandas_out,
        "worker_exit": _close_warehouse,
    }


def _keep_pandas_out(server: Any, worker: Any) -> None:
    """Keep DuckDB from importing pandas/pyarrow in each worker (~80 MB resident apiece)."""
    from daybook.serving import keep_pandas_out_of_duckdb

    keep_pandas_out_of_duckdb()


def _close_warehouse(server: Any, worker: Any) -> None:
    """Stop the worker's app threads, then close its warehouse connections, before it exits.

    In that order: a request uvicorn gave up on (its graceful timeout) may
    still be running a query on a pool thread, and the reader must not be
    closed under it (queued requests are cancelled, running ones waited for).
    """
    app = getattr(worker, "wsgi", None)
    if isinstance(app, WsgiOnThreads):
        app.close()
        app = app.wsgi_app
    services = getattr(app, "extensions", {}).get("daybook")
    if services is not None:
        services.reader.close()


def hold_port(host: str, port: int) -> socket.socket:
    """Bind the port to serve on before anything else, and keep it for gunicorn (``fd://``).

    A port that is taken (or a host that is no interface here) fails at once with one
    line, not after the first publish or minutes of a demo's build, and not as gunicorn's
    five seconds of retries; one free now cannot be taken meanwhile; and port 0 gets a
    free port whose number the start line and a demo's URLs can name. A request sent
    before gunicorn serves the socket waits in its queue.
    """
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
    try:
        listener.bind((host, port))
        listener.listen()  # listening, so no other program's bind can share the port
    except OSError as error:
        listener.close()
        raise click.ClickException(
            f"cannot serve on {host}:{port} ({error.strerror}); pass another --port, or 0 for "
            "a free one"
        ) from None
    return listener


def ensure_serving_snapshot(warehouse: Warehouse) -> str:
    """Make sure the API has something published to read (on DuckDB: a serving snapshot,
    so workers never hold the build file); returns what it serves, for the start line.

    The first publish runs in a child process (``python -m daybook.pipeline ensure``,
    :func:`daybook.pipeline.ensure_published`), on every backend: importing DuckDB in
    gunicorn's master before it forks workers makes them abort at exit, and no Spark
    Connect (gRPC) channel may be open when it forks. With ``DAYBOOK_SERVING_URL`` set
    the first publish fills that serving store. When publishing fails (a warehouse not
    built yet), the API starts all the same and says why: it answers data requests once a
    build publishes, and never opens a DuckDB build file meanwhile (a worker holding it,
    even read-only, would lock that build out); Spark has nothing it could serve, so
    ``serve`` stops.
    """
    from daybook.serving.store import separate_store

    result = subprocess.run(
        [sys.executable, "-m", "daybook.pipeline", "ensure", warehouse.url],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return (result.stdout.strip().splitlines() or [warehouse.backend])[-1]
    reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
    in_place = separate_store(warehouse) is None
    if warehouse.backend == "spark" and in_place:
        raise click.ClickException(f"nothing to serve on the Spark warehouse: {reason}")
    click.echo(
        f"warning: nothing could be published for the API to read ({reason}); data requests "
        "are answered 500 and /readyz 503 until `daybook build` publishes",
        err=True,
    )
    from daybook.publishers import publisher_for

    return publisher_for(warehouse).describe(warehouse)


def refuse_semantic_yaml_the_api_refuses(settings: Settings) -> None:
    """Stop ``serve`` with the refusal naming the file when the semantic YAML is one every
    worker would refuse at start-up (each would log a traceback and gunicorn give up)."""
    from daybook.semantic import SemanticError, load_catalog

    try:
        load_catalog(semantic_dir=settings.semantic_dir, manifest_path=settings.manifest_path)
    except SemanticError as error:
        raise click.ClickException(f"nothing served: {error}") from None


def address_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--host`` and ``--port``, as ``daybook serve`` and ``daybook demo`` both take them."""
    command = click.option(
        "--port",
        default=8000,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="TCP port; 0 takes a free one (the URLs printed and the 'Listening at' line name it).",
    )(command)
    return click.option(
        "--host", default="127.0.0.1", show_default=True, help="Interface to bind."
    )(command)


@click.command()
@address_options
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes [default: one per core]."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Per worker."
)
@click.option(
    "--socket-fd",
    type=int,
    default=None,
    hidden=True,
    help="Serve this bound socket (inherited from `daybook demo`), not host:port.",
)
def serve(host: str, port: int, workers: int | None, threads: int, socket_fd: int | None) -> None:
    """Serve the API (gunicorn, uvicorn workers) on the warehouse named by DAYBOOK_DATABASE_URL."""

    workers = workers or default_workers()
    warehouse = warehouse_from_env()
    # the settings every worker reads, checked once here: a bad one (DAYBOOK_MAX_RANGE_DAYS=abc)
    # is a clear error before anything starts, not a traceback in each worker's log; so is
    # semantic YAML the API refuses (the workers then read the parse this one caches)
    settings = Settings.from_config({"pool_size": threads})
    refuse_semantic_yaml_the_api_refuses(settings)
    if socket_fd is None:
        listener = hold_port(host, port)
        socket_fd, port = listener.fileno(), listener.getsockname()[1]
    source = ensure_serving_snapshot(warehouse)
    reads_spark = serving_store(warehouse).backend == "spark"
    url = f"http://{host}:{port}"  # the port bound (demo passes the one it bound)
    click.echo(
        f"Serving Daybook API on {url} ({workers} workers x {threads} threads) "
        f"from {source}; docs at {url}/v2/docs",
        err=True,
    )
    options = gunicorn_options(host, port, workers, threads, reads_spark=reads_spark)
    options["bind"] = f"fd://{socket_fd}"
    options.update(server_hooks(settings))  # metrics edited while serving (api.metric_reload)
    DaybookServer(options, {"pool_size": threads}).run()
