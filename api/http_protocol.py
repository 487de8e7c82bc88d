"""The HTTP side of a uvicorn worker: uvicorn's httptools protocol with Daybook's defences.

uvicorn reads and parses requests on its event loop, so an idle or half-sent
request costs a socket and a small buffer, never a thread. It lacks three
things the API needs, which :class:`DaybookProtocol` adds: a deadline for
reading a request (a connection that has not delivered a whole request within
:data:`REQUEST_READ_TIMEOUT` seconds of opening, or of the first byte of a
next request, is closed), a bound on the request head's size, and the
contract's JSON error for HTTP it cannot parse (501 for a well-formed method
it does not know, as RFC 9110 asks: httptools refuses any method outside its
table while parsing, before the app could answer 405). The JSON error helpers
come from :mod:`api.error_codes`; :func:`json_error_response` is also gunicorn's
own error page (:mod:`api.serve`).
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.error_codes import error_body, error_headers, request_id_for

SERVER_NAME = "daybook"
REQUEST_READ_TIMEOUT = 10.0  # seconds to deliver a whole request (head and body)
MAX_HEAD_BYTES = 64 * 1024  # request line and headers
# A request line that starts with a method token (RFC 9110's tchar), then a space or the end
# of what arrived: a method httptools does not know, not malformed HTTP.
_METHOD_TOKEN = re.compile(rb"^(?:\r?\n)*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: |$)")
_METHOD_BYTES = 64  # enough of a request's start to read its method


def json_error_response(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying the contract's JSON error; the connection closes."""
    request_id = request_id_for(None)
    body = error_body(status, message, request_id)
    head = [f"HTTP/1.1 {status} {reason}".encode(), f"Server: {SERVER_NAME}".encode()]
    head += [name.title() + b": " + value for name, value in error_headers(body, request_id)]
    head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


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
        # the first bytes of the request being read (for the 501 of an unknown method); None
        # when it began inside a read that also held the end of the one before it (pipelined)
        self._request_start: bytes | None = b""
        self._running: Any = None  # the request cycle whose app task started last
        # the error answer of a request that could not be parsed, held until the answer of
        # the last complete request before it (the cycle beside it) has been sent
        self._held_error: tuple[bytes, Any] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._held_error is not None:
            return  # nothing after a request that could not be parsed is read
        if self._read_deadline is None:
            self._arm_read_deadline()
        if not self._head_done:
            self._head_bytes += len(data)
        if self._request_start is None and not self._partial:
            self._request_start = b""  # a request starts with this read
        start = self._request_start
        if start is not None and not self._head_done and len(start) < _METHOD_BYTES:
            self._request_start = start + data[: _METHOD_BYTES - len(start)]
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
        self._request_start = None  # a pipelined request may follow within this read
        self._disarm_read_deadline()
        super().on_message_complete()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        held = self._held_error
        if held is not None and held[1].response_complete and not self.transport.is_closing():
            self.transport.write(held[0])
            self.transport.close()

    def _last_unanswered(self) -> Any:
        """The cycle of the last complete request not yet answered, before the one that could
        not be parsed (whose own cycle, when its head was read, is dropped), or None."""
        cycle = self.cycle
        if cycle is None:
            return None
        if self._partial and self._head_done:  # the broken request has a cycle of its own
            if not (self.pipeline and self.pipeline[0][0] is cycle):
                return None  # it is the one running: no answer is owed before it
            self.pipeline.popleft()
            return self.pipeline[0][0] if self.pipeline else self._running
        return None if cycle.response_complete else cycle

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
        """Answer HTTP that cannot be parsed with the contract's JSON error, then close; in
        its turn, after the answers of complete requests pipelined before it.

        uvicorn calls this from inside its ``except`` for the parser's error, so the
        error's kind is at hand: a method httptools does not know gets 501 when what
        arrived starts with a well-formed method token (``FOO /x``, lower-case ``get``),
        400 otherwise (``G@T /x``)."""
        self._disarm_read_deadline()
        if self.transport.is_closing() or self._held_error is not None:
            return
        start = self._request_start
        if (
            isinstance(sys.exception(), httptools.HttpParserInvalidMethodError)
            and start is not None
            and _METHOD_TOKEN.match(start)
        ):
            method, space, _ = start.lstrip(b"\r\n").partition(b" ")
            # named only when whole: httptools may refuse a method before all of it arrived
            named = f"Method {method.decode('ascii')}" if space else "The request's method"
            answer = json_error_response(
                501, "Not Implemented", f"{named} is not implemented by this server"
            )
        else:
            answer = json_error_response(
                400,
                "Bad Request",
                "Malformed HTTP request: the request line or a header is invalid or too large",
            )
        owed = self._last_unanswered()
        if owed is not None:  # answered in its turn, after the requests pipelined before it
            self._held_error = (answer, owed)
            self.flow.pause_reading()
            return
        self.transport.write(answer)
        self.transport.close()
