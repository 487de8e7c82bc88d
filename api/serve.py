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
  of ``--threads`` threads per worker (:class:`WsgiOnThreads`: one hand-off
  per request, the answer buffered; the API's answers are small JSON), the
  concurrency the warehouse connection pool is sized for;
- :class:`DaybookProtocol` adds what uvicorn lacks: a deadline for reading a
  request (a connection that has not delivered a whole request within
  :data:`REQUEST_READ_TIMEOUT` seconds of opening, or of the first byte of a
  next request, is closed), a bound on the request head's size, and the
  contract's JSON error for HTTP it cannot parse;
- ``Server: daybook`` replaces the server's name, with no version.

Defaults suit a small machine: one worker process per core, each holding its
own read-only DuckDB connection or PostgreSQL pool. The app is built in each
worker after the fork (no preload), so no connection is shared across
processes, and nothing in gunicorn's master imports DuckDB.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from io import BytesIO
from typing import Any

import click
import httptools
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from daybook.config import Warehouse, warehouse_from_env

SERVER_NAME = "daybook"
REQUEST_READ_TIMEOUT = 10.0  # seconds to deliver a whole request (head and body)
MAX_HEAD_BYTES = 64 * 1024  # request line and headers
MAX_BODY_BYTES = 1024 * 1024  # the API reads no bodies; anything larger is refused
KEEPALIVE_SECONDS = 5  # an idle kept-alive connection is closed after this
GRACEFUL_SECONDS = 20  # in-flight requests get this long on stop
log = logging.getLogger("daybook.serve")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def error_body(status: int, message: str) -> bytes:
    """The contract's JSON error for an answer the server gives before or instead of the app."""
    code = "invalid_parameter" if 400 <= status < 500 else "internal_error"
    return json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()


def json_error_response(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying the contract's JSON error; the connection closes."""
    body = error_body(status, message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nDate: {formatdate(usegmt=True)}\r\n"
        f"Server: {SERVER_NAME}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own answer to a request it cannot parse, in the contract's JSON error shape.

    Used only if a gunicorn worker class (``sync``, ``gthread``) serves the
    app; :class:`DaybookProtocol` does the same for the uvicorn workers.
    """
    response = json_error_response(status_int, reason, f"Malformed HTTP request: {mesg}")
    gunicorn_util.write_nonblock(sock, response)


class DaybookProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-read deadline, a head bound and JSON 400s.

    The deadline starts when the connection opens, or when the first byte of
    a next request arrives on a kept-alive connection, and further bytes do
    not extend it: a client trickling a header a second is closed like a
    silent one. A connection whose complete request is being answered is left
    alone (the app's own time is not the client's fault); idle time between
    requests is uvicorn's keep-alive timeout.
    """

    read_timeout: float = REQUEST_READ_TIMEOUT
    max_head_bytes: int = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._partial = False  # a request has begun and is not complete
        self._head_done = False
        self._head_bytes = 0  # bytes received while the head is incomplete, across reads
        self._head_size = 0  # the parsed request line and headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._read_deadline is None:
            self._arm_read_deadline()
        if not self._head_done:
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._head_done and self._head_bytes > self.max_head_bytes:
            self.send_400_response("request head too large")

    def on_message_begin(self) -> None:
        if self._read_deadline is None:
            self._arm_read_deadline()  # a pipelined request behind a complete one
        self._partial, self._head_done, self._head_size = True, False, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_size > self.max_head_bytes:  # arrived within one read
            raise httptools.HttpParserError("request head too large")  # uvicorn answers 400
        self._head_done, self._head_bytes = True, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._partial, self._head_done, self._head_bytes = False, False, 0
        self._disarm_read_deadline()
        super().on_message_complete()

    def _arm_read_deadline(self) -> None:
        self._disarm_read_deadline()
        self._read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        answering = (
            not self._partial and self.cycle is not None and not self.cycle.response_complete
        )
        if not answering and not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """Answer HTTP that cannot be parsed with the contract's JSON error, then close."""
        self._disarm_read_deadline()
        if not self.transport.is_closing():
            self.transport.write(
                json_error_response(
                    400,
                    "Bad Request",
                    "Malformed HTTP request: the request line or a header is invalid or too large",
                )
            )
            self.transport.close()


def wsgi_environ(scope: dict, body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP request whose body has been read."""
    server_name, server_port = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "SERVER_SOFTWARE": SERVER_NAME,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"], port = scope["client"]
        environ["REMOTE_PORT"] = str(port)
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class WsgiOnThreads:
    """The ASGI app a worker serves: the WSGI (Flask) app run on a pool of ``threads`` threads.

    The event loop reads the request body (bounded), the app runs on the pool
    and its whole answer comes back in one hand-off: one thread switch each
    way per request. (``a2wsgi``'s general-purpose bridge, which streams each
    chunk through the loop, measured about a third slower on the API's small
    answers.) Should anything fail outside the app (Flask answers every error
    it sees itself), the client still gets the contract's JSON 500.
    """

    def __init__(self, wsgi_app: Any, threads: int) -> None:
        self.wsgi_app = wsgi_app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="app")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await self._read_body(receive)
        except ConnectionAbortedError:
            return  # the client went away before sending its whole request
        if body is None:
            await self._send(send, 413, [], error_body(413, "Request body too large"))
            return
        try:
            status, headers, content = await asyncio.get_running_loop().run_in_executor(
                self.pool, self._call, wsgi_environ(scope, body)
            )
        except Exception:
            log.exception("request failed outside the app")
            await self._send(send, 500, [], error_body(500, "Internal server error"))
            return
        await self._send(send, status, headers, content)

    @staticmethod
    async def _read_body(receive: Any) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise ConnectionAbortedError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the WSGI app on a pool thread; its status, headers and whole body."""
        answer: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = [
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ]
            return written.append

        iterable = self.wsgi_app(environ, start_response)
        try:
            written.extend(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        headers = answer["headers"]
        if not any(name.lower() == b"date" for name, _ in headers):
            # stamped after the app ran, so never earlier than a time the app put in the
            # answer (Last-Modified is clamped to "now" and must not be later than Date)
            headers.append((b"date", formatdate(usegmt=True).encode()))
        return answer["status"], headers, b"".join(written)

    @staticmethod
    async def _send(send: Any, status: int, headers: list, content: bytes) -> None:
        if not headers:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ]
            headers.append((b"date", formatdate(usegmt=True).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


class DaybookWorker(UvicornWorker):
    """gunicorn worker: uvicorn's event loop reads requests, :class:`DaybookProtocol` parses them.

    Stopping (a terminal's Ctrl-C reaches the master and every worker at
    once; the master then also sends each worker SIGQUIT): while serving,
    SIGTERM, SIGINT and SIGQUIT all make uvicorn drain in-flight requests and
    close. Outside that window: while the app is still being built the
    worker exits at once (code 0); once uvicorn is done (or the worker is
    leaving) it ignores further stop signals. Otherwise uvicorn's re-raise of
    the signal it stopped for, or the master's SIGQUIT arriving late, would
    meet the default action and kill the worker by that signal before
    ``worker_exit`` runs ("Worker was sent SIGQUIT!").
    """

    CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 - uvicorn_worker's own class attribute
        "loop": "uvloop",
        "http": DaybookProtocol,
        "lifespan": "off",
        "access_log": False,  # the app logs one JSON line per request itself
        "server_header": False,
        "date_header": False,  # uvicorn's is refreshed once a second; WsgiOnThreads sets it
        "headers": [("server", SERVER_NAME)],
        "timeout_graceful_shutdown": GRACEFUL_SECONDS - 2,
    }
    STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)

    _booting = True

    def init_signals(self) -> None:
        super().init_signals()
        for sig in self.STOP_SIGNALS:
            signal.signal(sig, self._stop_signal)

    def _stop_signal(self, sig: int, frame: Any) -> None:
        """While booting, stop now; after serving, nothing is left to stop."""
        if self._booting:
            self._ignore_stop_signals()
            sys.exit(0)

    def _ignore_stop_signals(self) -> None:
        """On the way out, ignore further stop signals: the interpreter's teardown would reset
        Python-level handlers to the default action, which kills the process mid-exit."""
        for sig in self.STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    async def _serve(self) -> None:
        from gunicorn.arbiter import Arbiter
        from uvicorn.server import Server

        self.config.app = self.wsgi
        server = Server(config=self.config)
        self._booting = False
        # a Python-level handler (not the loop's), so nothing resets SIGQUIT to its default
        # action when the loop closes; uvicorn itself takes SIGINT and SIGTERM while serving
        signal.signal(signal.SIGQUIT, server.handle_exit)
        # uvloop closes the listening sockets it serves; hand it duplicates, so gunicorn's
        # own close of the originals at exit does not log a bad file descriptor
        sockets = [socket.fromfd(sock.fileno(), sock.family, sock.type) for sock in self.sockets]
        try:
            await server.serve(sockets=sockets)
        finally:
            self._ignore_stop_signals()
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


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


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
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
        "post_fork": _worker_setup,
        "worker_exit": _close_warehouse,
    }


def _worker_setup(server: Any, worker: Any) -> None:
    """Keep DuckDB from importing pandas/pyarrow in each worker (~80 MB resident apiece)."""
    from daybook.serving import keep_pandas_out_of_duckdb

    keep_pandas_out_of_duckdb()


def _close_warehouse(server: Any, worker: Any) -> None:
    """Close the worker's warehouse connections before its interpreter exits."""
    app = getattr(worker, "wsgi", None)
    app = getattr(app, "wsgi_app", app)
    services = getattr(app, "extensions", {}).get("daybook")
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
    """Serve the API (gunicorn, uvicorn workers) on the warehouse named by DAYBOOK_DATABASE_URL."""
    workers = workers or default_workers()
    source = ensure_serving_snapshot(warehouse_from_env())
    click.echo(
        f"Serving Daybook API on http://{host}:{port} ({workers} workers x {threads} threads) "
        f"from {source}; docs at http://{host}:{port}/v2/docs",
        err=True,
    )
    DaybookServer(gunicorn_options(host, port, workers, threads), {"pool_size": threads}).run()
