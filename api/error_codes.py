"""The contract's JSON error on the wire, without Flask: its codes by HTTP status, its body
and the headers every answer carries, for the answers the server gives before or instead
of the app (:mod:`api.http_protocol`, :mod:`api.asgi_bridge`) and the app's own
(:mod:`api.errors`), so that both look alike to a client."""

from __future__ import annotations

import json
import re
import uuid
from email.utils import formatdate

# A client's own X-Request-ID is kept when it is this sane (logged and echoed as is).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# The contract's error codes by HTTP status, for the app's answers and the server's alike.
HTTP_ERROR_CODES = {
    400: "invalid_parameter",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    501: "not_implemented",
}


def error_code(status: int) -> str:
    """The contract's error code for an HTTP error status."""
    return HTTP_ERROR_CODES.get(status, "invalid_parameter" if status < 500 else "internal_error")


def request_id_for(incoming: str | None) -> str:
    """A request's id: the client's ``X-Request-ID`` when sane, else a new one."""
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def internal_error_message(request_id: str) -> str:
    """What a 500 says: never the cause (that is in the log, under this id)."""
    return f"Internal server error; quote request id {request_id} when reporting it"


def error_body(status: int, message: str, request_id: str) -> bytes:
    """The contract's JSON error for an answer the server gives before or instead of the app,
    written as the app writes its own (compact); a 500 quotes its request id, as the app's do."""
    details = {"request_id": request_id} if error_code(status) == "internal_error" else {}
    error = {"code": error_code(status), "message": message, "details": details}
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def error_headers(body: bytes, request_id: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer of the API carries (``api.headers``, ``api.logs``), for one
    the server gives before or instead of the app."""
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"date", formatdate(usegmt=True).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", request_id.encode()),
    ]
