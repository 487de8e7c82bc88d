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
  the same status and ``Location``.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, jsonify, request
from werkzeug.routing import RequestRedirect

from api.web import content_security_policy

# Blueprints whose answers depend on the caller's token.
PRIVATE_BLUEPRINTS = frozenset({"activity", "directory", "catalogue"})

_INLINE_SCRIPT_RE = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_content_security_policy(html: bytes) -> str:
    """The docs pages' policy: the chart page's, plus the page's own inline scripts."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + "'"
        for body in _INLINE_SCRIPT_RE.findall(html)
    ]
    return content_security_policy(*hashes)


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


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if isinstance(request.routing_exception, RequestRedirect):
        location = response.headers.get("Location", "")
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
