"""The ASGI app a uvicorn worker serves: the WSGI (Flask) app, unchanged, on a thread pool.

Only complete requests reach the app, which runs on a pool of ``--threads``
threads per worker (the concurrency the warehouse connection pool is sized
for): one hand-off per request, the answer buffered (the API's answers are
small JSON). The pool belongs to the worker's lifetime: :meth:`WsgiOnThreads.close`
stops it when the worker exits, before the warehouse connections are closed.

The liveness probe (:data:`ON_LOOP_PATHS`) runs on the event loop itself, so it
answers while every app thread waits on the warehouse.

A request without exactly one ``Host`` header (HTTP/1.1 needs one; none may carry
two: RFC 9112 section 3.2) is answered 400 here, in its turn: refusing it while
parsing would cut off the answer of a request pipelined before it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from io import BytesIO
from typing import Any

from api.error_codes import error_body, error_headers, internal_error_message, request_id_for
from api.http_protocol import SERVER_NAME

MAX_BODY_BYTES = 1024 * 1024  # the API reads no bodies; anything larger is refused
HOST_PROBLEM = "Malformed HTTP request: it needs exactly one Host header"
# Answered on the event loop, not the thread pool: liveness says the process answers, so it
# must not wait behind requests stuck in the warehouse (a lock holding every app thread).
# Only routes that read nothing and take microseconds belong here.
ON_LOOP_PATHS = frozenset({"/healthz"})
log = logging.getLogger("daybook.serve")


def host_is_wrong(scope: dict) -> bool:
    """Two or more Host headers, or none in an HTTP/1.1 request (HTTP/1.0 may omit it)."""
    hosts = sum(1 for name, _ in scope["headers"] if name.lower() == b"host")
    return hosts > 1 or (hosts == 0 and scope["http_version"] != "1.0")


def _header(scope: dict, wanted: bytes) -> str | None:
    """The first value of a request header (``wanted`` lower-case), or None."""
    for name, value in scope["headers"]:
        if name.lower() == wanted:
            return value.decode("latin-1").strip()
    return None


def _request_id(scope: dict) -> str:
    """The id of a request answered here, as the app would choose it (``api.logs``); made
    only on these error paths, never per request."""
    return request_id_for(_header(scope, b"x-request-id"))


def expects_continue(scope: dict) -> bool:
    """The client sent ``Expect: 100-continue`` and waits before sending its body."""
    return (_header(scope, b"expect") or "").lower() == "100-continue"


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
    raw_path = scope.get("raw_path")
    if raw_path:  # the path as sent, still percent-encoded (``api.encoded_slashes``)
        query = f"?{environ['QUERY_STRING']}" if environ["QUERY_STRING"] else ""
        environ["RAW_URI"] = environ["REQUEST_URI"] = raw_path.decode("latin-1") + query
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

    def close(self) -> None:
        """Stop the app's threads: cancel queued requests, wait for the running ones.

        Called when the worker exits, before its warehouse connections are
        closed. uvicorn's graceful timeout cancels a slow request's task, but
        not the pool thread running the app, which may still be in a query; a
        DuckDB connection closed under a running query can crash the process
        at exit. Should a query never end, gunicorn's master kills the worker
        once its ``graceful_timeout`` is over.
        """
        self.pool.shutdown(wait=True, cancel_futures=True)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        waiting = expects_continue(scope)
        try:
            # a client that waits for "100 Continue" is not invited to send its body: the API
            # reads none, and would otherwise ask for it before authenticating anyone
            body = b"" if waiting else await self._read_body(receive)
        except ConnectionAbortedError:
            return  # the client went away before sending its whole request
        if body is None:
            # closed: the rest of the body is not read
            await self._send_error(send, 413, "Request body too large", scope, close=True)
            return
        if host_is_wrong(scope):
            await self._send_error(send, 400, HOST_PROBLEM, scope, close=True)
            return
        environ = wsgi_environ(scope, body)
        try:
            if scope["path"] in ON_LOOP_PATHS:
                status, headers, content = self._call(environ)
            else:
                status, headers, content = await asyncio.get_running_loop().run_in_executor(
                    self.pool, self._call, environ
                )
        except Exception:
            request_id = _request_id(scope)
            log.exception(
                "request failed outside the app", extra={"fields": {"request_id": request_id}}
            )
            await self._send_error(send, 500, internal_error_message(request_id), scope, request_id)
            return
        await self._send(send, status, headers, content, close=waiting)  # its body unread

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

    @classmethod
    async def _send_error(
        cls,
        send: Any,
        status: int,
        message: str,
        scope: dict,
        request_id: str | None = None,
        *,
        close: bool = False,
    ) -> None:
        """The contract's JSON error, for a request the app never saw."""
        request_id = request_id or _request_id(scope)
        body = error_body(status, message, request_id)
        await cls._send(send, status, error_headers(body, request_id), body, close=close)

    @staticmethod
    async def _send(
        send: Any, status: int, headers: list, content: bytes, *, close: bool = False
    ) -> None:
        if close:  # uvicorn ends the connection after an answer that says so
            headers = [*headers, (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
