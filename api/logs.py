"""Request ids and one structured (JSON) log line per request.

The line carries method, path, status, latency, request id, client id and the
token's public id; never the token itself or the Authorization header.
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

from flask import Flask, Response, g, request

log = logging.getLogger("daybook.api")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


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
        return json.dumps(line, default=str)


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
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        token = g.get("token")
        fields = {
            "event": "request",
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "request_id": request_id,
            "client_id": (request.view_args or {}).get("client_id"),
            "token_id": token.token_id if token is not None else None,
            "pid": os.getpid(),
        }
        log.info("request", extra={"fields": fields})
        return response
