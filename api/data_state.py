"""Which data a request sees: the warehouse's data version and its newest data, once per request.

Read before anything the request queries, and kept on ``g`` for the rest of it:
the answer cache and the known ids are filed under the version
(``api.answers``), and ``Last-Modified`` is the newest data. On PostgreSQL the
authentication hook reads both in the same round trip as the token
(``api.auth``); otherwise the reader is asked the first time a view needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g


@dataclass(frozen=True)
class DataState:
    """The data version (None: nothing may be cached) and, when known, the newest data time."""

    version: Hashable | None
    newest_data: datetime | None = None


def remember(state: DataState) -> None:
    """Record the state this request reads (called by the authentication hook)."""
    g.data_state = state


def current() -> DataState:
    """This request's data state, read from the warehouse reader on first use."""
    state = g.get("data_state")
    if state is None:
        state = DataState(current_app.extensions["daybook"].reader.data_version())
        g.data_state = state
    return state


def newest_data(fallback: Callable[[], datetime | None]) -> Callable[[], datetime | None]:
    """A ``Last-Modified`` source: this request's recorded newest data, else ``fallback()``."""

    def newest() -> datetime | None:
        state = g.get("data_state")
        if state is not None and state.newest_data is not None:
            return state.newest_data
        return fallback()

    return newest
