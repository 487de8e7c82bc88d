"""The answer cache: serialised 200 answers, valid only at the data version they were read at.

Bounded in bytes, least recently used out first. Authentication and the
token's grant run before the cache is consulted (``api.activity``), so a cached
answer only reaches a caller allowed to ask. The version
(``api.request_state``) is read before anything else in a request and data
only moves forward, so what is filed under a version is never older than it;
without a version nothing is cached.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass

from cachetools import LRUCache

_ENTRY_OVERHEAD = 200  # bytes of key, tuple and dict slot per entry, roughly


@dataclass(frozen=True)
class CachedAnswer:
    version: Hashable
    body: bytes


class AnswerCache:
    """Serialised answers by request, valid only for the data version they were read at."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: LRUCache = LRUCache(
            maxsize=max(1, max_bytes),
            getsizeof=lambda entry: len(entry.body) + _ENTRY_OVERHEAD,
        )
        self.hits = 0  # answers served from the cache, for tests and debugging

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable, version: Hashable | None) -> bytes | None:
        """The cached body for ``key`` at ``version``; None if absent, stale or uncacheable."""
        if not self.enabled or version is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version:
                self.hits += 1
                return entry.body
            return None

    def holds(self, key: Hashable) -> bool:
        """Whether an answer for ``key`` is filed, at any version (not counted as a use):
        the request then expects a hit and reads the data only if it was stale."""
        return self.enabled and key in self._entries

    def put(self, key: Hashable, version: Hashable | None, body: bytes) -> None:
        """File ``body`` under ``key`` for ``version`` (nothing happens without a version)."""
        if not self.enabled or version is None:
            return
        entry = CachedAnswer(version, body)
        if self._entries.getsizeof(entry) > self._entries.maxsize:
            return  # larger than the whole cache: not worth evicting everything for
        with self._lock:
            self._entries[key] = entry

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return int(self._entries.currsize)
