"""An encoded slash (``%2F``) in a path stays inside its segment, as RFC 3986 says it is data.

WSGI hands Flask the decoded path, so ``/v2/clients/<id>/analytics/users/a%2Fb/activity``
arrived as ``.../users/a/b/activity``: a path of one segment more, which no route matches,
and the client got 404 "no such resource" for what the contract calls a malformed path
id (400 ``invalid_parameter``, naming the id, after the token is checked). Routing on the
path as sent, with each ``%2F`` kept as those three characters, gives the id its own
segment again; the route matches and the id is refused as any other malformed one is
(its details show each encoded slash as ``%2F``).

The path as sent is the server's ``RAW_URI`` (gunicorn, werkzeug) or ``REQUEST_URI``;
Daybook's ASGI bridge sets both from uvicorn's ``raw_path``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def path_as_sent(environ: dict[str, Any]) -> str | None:
    """The request target's path, still percent-encoded, without the app's ``SCRIPT_NAME``
    (``None`` when the server does not say)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return None
    path = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
    script_name = environ.get("SCRIPT_NAME", "")
    return path.removeprefix(script_name) if script_name else path


class EncodedSlashesStayInTheirSegment:
    """WSGI middleware: where the path as sent holds ``%2F``, ``PATH_INFO`` is that path
    decoded except for its encoded slashes (WSGI's latin-1 form, as servers give it)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        path = path_as_sent(environ)
        if path and _ENCODED_SLASH.search(path):
            environ["PATH_INFO"] = "%2F".join(
                unquote_to_bytes(piece).decode("latin-1") for piece in _ENCODED_SLASH.split(path)
            )
        return self.app(environ, start_response)
