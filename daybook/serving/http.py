"""HTTP caching headers on data answers: Last-Modified, Cache-Control, ETag and 304."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


DEFAULT_MAX_AGE = 60


def cache_headers(
    response: Any,
    request: Any,
    *,
    newest_data: datetime | None,
    max_age: int = DEFAULT_MAX_AGE,
) -> Any:
    """Add ``ETag``, ``Last-Modified``, ``Cache-Control`` to a 200 answer; 304 on a matching tag.

    The ETag is a hash of the body, so a 304 is never wrong: it is sent only
    when the answer is byte-for-byte what the client holds. ``Last-Modified`` is
    the newest data included (the contract's meaning), which is why
    ``If-Modified-Since`` is not honoured: a late-loaded file can change an
    answer without moving that time. ``max-age`` is short against the
    five-minute freshness promise, and ``private`` because answers depend on
    the bearer token. A heartbeat received "in the future" (a collector's
    clock ahead) would make that time later than the response's own ``Date``,
    which HTTP forbids, so ``Last-Modified`` is never later than now.
    """
    if request.method not in {"GET", "HEAD"} or response.status_code != 200:
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    tag = hashlib.blake2b(body, digest_size=16).hexdigest()
    response.set_etag(tag)
    if newest_data is not None:
        now = datetime.now(UTC)
        aware = newest_data if newest_data.tzinfo else newest_data.replace(tzinfo=UTC)
        response.last_modified = min(aware, now)
    response.headers["Cache-Control"] = f"private, max-age={max_age}, must-revalidate"
    response.vary.add("Authorization")
    if request.if_none_match and request.if_none_match.contains_weak(tag):
        response.status_code = 304
        response.set_data(b"")
        for header in ("Content-Type", "Content-Length"):
            response.headers.pop(header, None)
    return response


def install_http_caching(
    app: Any,
    newest_data: Callable[[str], datetime | None],
    *,
    max_age: int = DEFAULT_MAX_AGE,
    paths: Iterable[str] = ("/v2/clients/",),
) -> None:
    """Register :func:`cache_headers` on a Flask app for the data endpoints under ``paths``.

    ``newest_data(client_id)`` gives the ``Last-Modified`` of an answer about that client
    (the path's ``client_id``): each client's own newest data, so the header tells a
    caller nothing about other clients' deliveries.
    """
    from flask import request

    if app.extensions.get("daybook_http_caching"):
        return
    app.extensions["daybook_http_caching"] = True
    prefixes = tuple(paths)

    def add_cache_headers(response: Any) -> Any:
        if not request.path.startswith(prefixes) or response.status_code != 200:
            return response
        client_id = (request.view_args or {}).get("client_id")
        try:
            newest = newest_data(client_id) if client_id else None
        except Exception:  # headers must never turn an answer into an error
            log.exception("freshness lookup failed; answering without Last-Modified")
            newest = None
        return cache_headers(response, request, newest_data=newest, max_age=max_age)

    app.after_request(add_cache_headers)
