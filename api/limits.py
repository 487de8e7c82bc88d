"""Rate limits: per token, and per client address for failed authentication (429).

Why two limits: a token's own flood must stop at that token (each token has
its own bucket, so one token over its limit never limits another), and an
address that keeps presenting missing or wrong credentials is refused before
any token lookup, which stops token guessing and spares the warehouse the
lookups.

Built on Flask-Limiter (storage ``memory://`` by default, or any storage URI
the ``limits`` library knows, e.g. ``redis://host:6379``). Both limits apply to
the authenticated blueprints only; probes, docs and the chart page have none.
Flask-Limiter checks limits before the blueprints' authentication hook runs,
so:

* the token bucket is keyed by a digest of the presented credentials, which
  for a valid token is exactly one bucket per token (a forged token with a
  real token's public id still lands in its own bucket, so it cannot drain
  the real one; it is then refused 401 and counted against its address);
* the failed-authentication limit is only *tested* before the request and
  *counted* after it, when the answer was 401; once an address is over it,
  its requests get 429 whatever credentials they carry, until the window
  ends.

Over a limit the answer is the contract's JSON error, code ``rate_limited``,
with ``Retry-After`` (seconds until the window resets).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from api.errors import error_response

TOKEN_SCOPE = "token"
FAILED_AUTH_SCOPE = "failed-authentication"
# Never equal to the stored SHA-256 of a token (daybook.tokens.format), so the
# key, which Flask-Limiter may log, reveals nothing a database row would match.
_KEY_PERSON = b"daybook-ratelim"


def _credentials() -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def token_key() -> str:
    """The bucket of the presented bearer token: a keyed digest, never the token itself."""
    digest = hashlib.blake2b(
        _credentials().encode("utf-8", "surrogateescape"), digest_size=16, person=_KEY_PERSON
    )
    return digest.hexdigest()


def client_address() -> str:
    """The peer address as the WSGI server saw it (see api/README.md behind a proxy)."""
    return get_remote_address() or "unknown"


def retry_after_seconds(limit: RequestLimit) -> int:
    """Whole seconds until the breached window resets, at least 1."""
    return max(1, math.ceil(limit.reset_at - time.time()))


def _on_breach(scope: str, message: str):
    def breach(limit: RequestLimit) -> Response:
        seconds = retry_after_seconds(limit)
        return error_response(
            429,
            "rate_limited",
            message,
            {"limit": str(limit.limit), "scope": scope, "retry_after_seconds": seconds},
            {"Retry-After": str(seconds)},
        )

    return breach


def install_rate_limits(
    app: Flask,
    blueprints: list[Any],
    *,
    per_token: str,
    failed_auth: str,
    storage_uri: str,
) -> Limiter:
    """Attach the two limits to ``blueprints`` (an empty limit string turns that limit off)."""
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=storage_uri,
        strategy="fixed-window",  # one counter per key: the cheapest check per request
        headers_enabled=False,  # Retry-After only where it means something: on the 429
        key_prefix="daybook",
    )
    failed = limiter.shared_limit(
        failed_auth,
        scope=FAILED_AUTH_SCOPE,
        key_func=client_address,
        deduct_when=lambda response: response.status_code == 401,
        on_breach=_on_breach(
            FAILED_AUTH_SCOPE,
            "Too many failed authentication attempts from this address; retry later",
        ),
    )
    per_token_limit = limiter.shared_limit(
        per_token,
        scope=TOKEN_SCOPE,
        key_func=token_key,
        exempt_when=lambda: not _credentials(),  # no token, no token bucket (401 follows)
        on_breach=_on_breach(TOKEN_SCOPE, "Too many requests with this token; retry later"),
    )
    for blueprint in blueprints:
        failed(blueprint)
        per_token_limit(blueprint)
    return limiter
