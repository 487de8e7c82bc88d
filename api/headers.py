"""Security headers on every answer, and JSON where Werkzeug would write an HTML page.

* ``X-Content-Type-Options: nosniff`` on every response, JSON included.
* The docs UI pages (``/v2/``, ``/v2/docs``, ``/v2/swagger``, the OAuth redirect
  page) get a Content-Security-Policy as strict as the chart page's. Their
  HTML comes from flask-openapi3 and carries inline ``<script>`` blocks, so the
  policy allows exactly those scripts by their SHA-256 (computed from the
  page being sent) and nothing else inline.
* Answers of the authenticated endpoints depend on the bearer token and can
  hold emails: each carries ``Cache-Control`` with ``private`` (200s, from the
  HTTP caching hook) or ``no-store`` (everything else, errors included).
* ``GET /v2`` answers a small JSON index, and Werkzeug's HTML redirect page
  (a trailing slash or doubled slashes in a path) becomes a JSON body beside
  the same status and a ``Location`` relative to this server (never the
  client's ``Host``).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_text
import re
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request
from werkzeug.routing import RequestRedirect

from api.web import content_security_policy

# Blueprints whose answers depend on the caller's token.
PRIVATE_BLUEPRINTS = frozenset({"activity", "directory", "catalogue"})

_INLINE_SCRIPT_RE = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
# an inline event handler attribute (the docs index's `onclick` is its only link)
_EVENT_HANDLER_RE = re.compile(rb"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def _sha256_source(body: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + "'"


@lru_cache(maxsize=16)  # the docs pages are the same bytes at every request
def docs_content_security_policy(html: bytes) -> str:
    """The docs pages' policy: the chart page's, plus the page's own inline scripts and
    event handlers (the latter need ``'unsafe-hashes'``: without it a browser runs no
    handler attribute, whatever its hash, and the docs index's link did nothing)."""
    sources = [_sha256_source(body) for body in _INLINE_SCRIPT_RE.findall(html)]
    handlers = sorted(
        {
            html_text.unescape((double or single).decode())
            for double, single in _EVENT_HANDLER_RE.findall(html)
        }
    )
    if handlers:
        sources += ["'unsafe-hashes'", *(_sha256_source(handler.encode()) for handler in handlers)]
    return content_security_policy(*sources)


def api_index() -> Response:
    """``GET /v2``: where the API's document and docs are (JSON, no authentication)."""
    return jsonify(
        {
            "name": "Daybook API",
            "version": "2",
            "openapi": "/v2/openapi.json",
            "docs": "/v2/docs",
        }
    )


def _relative(location: str) -> str:
    """The path and query of a URL (a location on this server, whatever host it names)."""
    parts = urlsplit(location)
    path = "/" + parts.path.lstrip("/")  # never `//host`, which a browser reads as a host
    return path + (f"?{parts.query}" if parts.query else "")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if isinstance(request.routing_exception, RequestRedirect):
        # relative: Werkzeug writes the client's own Host header into an absolute URL, which
        # behind a proxy that forwards Host makes a doubled slash an open redirect
        location = _relative(response.headers.get("Location", ""))
        response.headers["Location"] = location
        response.set_data(
            jsonify({"redirect": {"location": location, "status": response.status_code}}).get_data()
        )
        response.mimetype = "application/json"
    if request.blueprint in PRIVATE_BLUEPRINTS and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if (
        response.mimetype == "text/html"
        and "Content-Security-Policy" not in response.headers
        and not response.direct_passthrough
        and not response.is_streamed
    ):
        response.headers["Content-Security-Policy"] = docs_content_security_policy(
            response.get_data()
        )
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def install_security_headers(app: Flask) -> None:
    """Register the headers hook; call it before hooks that set ``Cache-Control`` (after-request
    hooks run last-registered first, so this one then sees their headers)."""
    app.add_url_rule("/v2", endpoint="api_index", view_func=api_index, methods=["GET"])
    app.after_request(_security_headers)
