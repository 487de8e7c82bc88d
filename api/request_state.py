"""Everything the API keeps about one request, on Flask's ``g``, behind named functions.

Flask's ``g`` lives for one request; reading and writing it through this
module means one place says which keys exist and who sets them:

* the request id and start time (``api.logs``, first hook of every request);
* the caller's verified token (``api.auth``: the authenticated blueprints' hook, or
  for the activity endpoints on PostgreSQL the view, which verifies it in the same
  statement as its data; until then the presented token waits here unverified);
* the data state: the warehouse's data version. Read before anything the request
  queries: the answer cache, the known ids and each client's freshness (its
  ``Last-Modified``) are filed under it (``api.answer_cache``, ``api.known_ids``,
  ``api.client_freshness``). On PostgreSQL it is read in the same round trip as the
  token (and, for a question not in the answer cache, as the data itself); otherwise
  the reader is asked the first time a view needs it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from flask import current_app, g

from daybook.tokens import TokenRecord


@dataclass(frozen=True)
class DataState:
    """The data version (None: nothing may be cached)."""

    version: Hashable | None


# --- request id and timing (set by api.logs) ---------------------------------------------


def begin(request_id: str, started: float) -> None:
    """Record the request's id and start time (``time.perf_counter()``)."""
    g.request_id = request_id
    g.started = started


def request_id() -> str | None:
    """This request's id, or None before ``begin`` ran (e.g. an error in an earlier hook)."""
    return g.get("request_id")


def started() -> float | None:
    return g.get("started")


# --- the caller (set by api.auth) ----------------------------------------------------------


def set_token(record: TokenRecord) -> None:
    g.token = record


def token() -> TokenRecord:
    """The verified token; only views of authenticated blueprints may ask."""
    return g.token


def token_or_none() -> TokenRecord | None:
    """The verified token, or None (unauthenticated endpoints, failed authentication)."""
    return g.get("token")


def defer_token(credentials: str) -> None:
    """Keep a presented token to verify later in this request (``api.auth``: with the data
    on PostgreSQL). Until then :func:`token` fails, so nothing can use it unverified."""
    g.deferred_token = credentials


def deferred_token() -> str | None:
    """The presented token still waiting for verification, if any."""
    return g.get("deferred_token")


def take_deferred_token() -> str | None:
    """The token waiting for verification, now no longer waiting (its verifier's job)."""
    return g.pop("deferred_token", None)


# --- the data this request reads ------------------------------------------------------------


def remember(state: DataState) -> None:
    """Record the state this request reads (called by the authentication hook)."""
    g.data_state = state


def current() -> DataState:
    """This request's data state, read from the warehouse reader on first use."""
    state = g.get("data_state")
    if state is None:
        # Read straight off the extension: api.services imports the error module, which
        # imports this one.
        state = DataState(current_app.extensions["daybook"].reader.data_version())
        g.data_state = state
    return state
