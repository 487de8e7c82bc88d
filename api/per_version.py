"""What a worker read from the warehouse at each of the last few data versions, read once each.

Why: data only moves forward and every request first reads the data version
(``api.request_state``), so anything derived from the marts alone (which ids exist,
each client's newest heartbeat) can be read once per version and shared by every
request thread, instead of costing a query per request. ``api.known_ids`` and
``api.client_freshness`` keep theirs here. A read that fails (returns None) is not
kept, so the next request reads again rather than living with the failure for the
whole version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerVersion(Generic[T]):
    """A value per data version; the ``kept`` newest versions are kept, the oldest dropped.

    Two by default: during a publish, requests still on the version before it read
    theirs, and the requests on the new one do not load theirs again.
    """

    def __init__(self, kept: int = 2) -> None:
        if kept < 1:
            raise ValueError(f"kept must be at least 1, not {kept}")
        self._kept = kept
        self._values: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def get(self, version: Hashable, read: Callable[[], T | None]) -> T | None:
        """The value at ``version``: kept, or ``read()`` once (under a lock, so concurrent
        requests on a new version wait for one read instead of each making their own)."""
        value = self._values.get(version)
        if value is not None:
            return value
        with self._lock:
            value = self._values.get(version)
            if value is None:
                value = read()
                if value is None:
                    return None
                while len(self._values) >= self._kept:
                    self._values.pop(next(iter(self._values)))
                self._values[version] = value
            return value
