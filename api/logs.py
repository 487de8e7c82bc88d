"""Request ids and one structured (JSON) log line per request.

The line carries method, path, status, latency, request id, client id and the
token's public id; never the token itself or the Authorization header.

Nothing secret reaches a log line, wherever in the request it was sent:

* the query string is logged as an allow-list: the API's own parameter names
  with their values, every other name (``access_token``, ``password``...) as
  ``[redacted]`` and its value dropped;
* path segments and ids that are not plain words or UUIDs (a token pasted into
  a path, say) are logged as ``[redacted]``;
* and as a last net, :class:`JsonFormatter` scrubs every line it writes, error
  lines and tracebacks included: anything shaped like a Daybook token, a
  ``Bearer`` credential, or a password in a URL's user-info.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

from api import request_state
from api.error_codes import request_id_for

log = logging.getLogger("daybook.api")

REDACTED = "[redacted]"
# Query parameters the API reads; only these are logged with their values.
LOGGED_PARAMETERS = frozenset(
    {"metric", "start_date", "end_date", "granularity", "search", "limit", "offset"}
)
_MAX_VALUE = 100
# A path segment kept as is: a plain word (route names, file names) or a UUID. Tokens are
# longer than this and carry their ``dbk_`` prefix, so they never pass.
_PLAIN_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s\"]*):[^@/\s\"]*@")
_SECRET_PATTERNS = (
    # a Daybook token (and anything after its prefix and id, however mangled)
    (re.compile(r"dbk_[0-9A-Za-z]*[_-][A-Za-z0-9_~+/=%.-]*"), "dbk_" + REDACTED),
    # an Authorization credential written anywhere
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]+"), r"\1 " + REDACTED),
    # user-info password in a URL (postgresql://user:secret@host)
    (_URL_PASSWORD, r"\1:" + REDACTED + "@"),
)


def scrub(text: str) -> str:
    """``text`` with every secret-shaped part replaced: the log's last line of defence."""
    for pattern, replacement in _SECRET_PATTERNS:
        # The URL pattern needs a literal "://": looking for it first spares a line without
        # one the pattern's scan from every letter (about 50 us a request line, measured).
        if pattern is not _URL_PASSWORD or "://" in text:
            text = pattern.sub(replacement, text)
    return text


def _safe_value(value: str) -> str:
    value = scrub(value)
    return value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE] + "..."


def loggable_query() -> dict[str, Any]:
    """The query string as logged: allow-listed names with values, any other name hidden."""
    logged: dict[str, Any] = {}
    hidden = 0
    for name, value in request.args.items(multi=True):
        if name in LOGGED_PARAMETERS:
            logged[name] = _safe_value(value)
        else:
            hidden += 1
    if hidden:
        logged[REDACTED] = hidden  # how many other parameters there were, nothing of them
    return logged


def loggable_path(path: str) -> str:
    """The path with every segment that is not a plain word or id replaced."""
    return "/".join(
        segment if not segment or _PLAIN_SEGMENT_RE.fullmatch(segment) else REDACTED
        for segment in path.split("/")
    )


def _loggable_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if _PLAIN_SEGMENT_RE.fullmatch(text) else REDACTED


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str))


def configure_logging() -> None:
    """Send ``daybook.api`` records to stderr as JSON, once per process."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def install_request_logging(app: Flask) -> None:
    """Assign each request an id (a sane incoming ``X-Request-ID`` is kept) and log it."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        request_state.begin(request_id_for(incoming), time.perf_counter())

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = request_state.request_id() or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = request_state.started()
        token = request_state.token_or_none()
        fields = {
            "event": "request",
            "method": request.method,
            "path": loggable_path(request.path),
            "query": loggable_query(),
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "request_id": request_id,
            "client_id": _loggable_id((request.view_args or {}).get("client_id")),
            "token_id": token.token_id if token is not None else None,
            "pid": os.getpid(),
        }
        log.info("request", extra={"fields": fields})
        return response
