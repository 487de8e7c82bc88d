"""Rate limits: per token, and per client address for failed authentication (429).

Why two limits: a token's own flood must stop at that token (each token has
its own bucket, so one token over its limit never limits another), and an
address that keeps presenting missing or wrong credentials is refused before
any token lookup, which stops token guessing and spares the warehouse the
lookups.

Built on ``limits`` (the rate-limit engine of Flask-Limiter, same maintainers),
called from the authentication hook (``api.auth``) rather than through
Flask-Limiter's own request hook: that hook runs before a blueprint's
authentication, so it could not key a bucket on the *verified* token, and it
re-parses its limit strings and resolves its limit lists on every request,
which measured about 0.3 ms per request (a third of a cached answer). Here a
request costs one counter test for its address and one increment for its
token, with limits parsed once at start-up. Fixed windows: one counter per key
and window, the cheapest check.

Storage is ``memory://`` by default (per worker process; see api/README.md) or
any storage URI ``limits`` knows (``redis://host:6379``...) for limits shared by
all workers. The in-process store expires counters on access instead of
starting a timer thread on each increment, as the library's memory storage
does (about one new thread every 10 ms under load). If a shared storage cannot
be reached, requests are let through and the failure is logged: a broken
limiter must not take the API down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.errors import ApiError

log = logging.getLogger("daybook.api")

TOKEN_SCOPE = "token"
FAILED_AUTH_SCOPE = "failed-authentication"
_SWEEP_SECONDS = 5.0


# The base class's private (name-mangled) methods LazyMemoryStorage relies on, as in
# limits 5.8.0 (limits/storage/memory.py; checked against that exact version, the one
# pyproject's "limits>=5.8,<6" installs): incr/decr/acquire_entry call __schedule_expiry,
# which starts a threading.Timer running __expire_events. A release that renames either
# fails tests/api/test_api_rate_limits.py::test_the_in_process_store_* loudly, and here
# the library's own memory storage is used instead (correct limits, timer threads again).
_PRIVATE_HOOKS = ("_MemoryStorage__schedule_expiry", "_MemoryStorage__expire_events")


class LazyMemoryStorage(MemoryStorage):
    """``limits``' memory storage, expiring counters on access and in a periodic inline
    sweep instead of starting a timer thread whenever the last one has ended."""

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = time.monotonic() + _SWEEP_SECONDS
        self._sweep_lock = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now >= self._next_sweep and self._sweep_lock.acquire(blocking=False):
            try:
                self._next_sweep = now + _SWEEP_SECONDS
                self._MemoryStorage__expire_events()  # drop expired keys: memory stays bounded
            finally:
                self._sweep_lock.release()


def open_storage(uri: str) -> Storage:
    """The counters' storage: the lazy in-process store for ``memory://``, else ``limits``'."""
    if uri.strip() != "memory://":
        return storage_from_string(uri)
    if all(hasattr(MemoryStorage, name) for name in _PRIVATE_HOOKS):
        return LazyMemoryStorage()
    log.warning(  # an untested `limits` release: its own store, rather than a broken override
        "limits' MemoryStorage has changed; using it as is (a timer thread per expiry)",
        extra={"fields": {"event": "rate_limit_storage_fallback"}},
    )
    return MemoryStorage()


@dataclass
class RateLimits:
    """The two limits of one app, checked by the authentication hook."""

    per_token: list[RateLimitItem]
    failed_auth: list[RateLimitItem]
    strategy: FixedWindowRateLimiter

    @classmethod
    def from_settings(cls, per_token: str, failed_auth: str, storage_uri: str) -> RateLimits:
        """Empty strings turn a limit off (settings have validated the rest)."""
        return cls(
            parse_many(per_token) if per_token else [],
            parse_many(failed_auth) if failed_auth else [],
            FixedWindowRateLimiter(open_storage(storage_uri)),
        )

    def check_address(self, address: str) -> None:
        """429 when ``address`` is over its failed-authentication limit (nothing counted)."""
        for item in self.failed_auth:
            if not self._safely(self.strategy.test, item, address):
                self._refuse(
                    item,
                    FAILED_AUTH_SCOPE,
                    address,
                    "Too many failed authentication attempts from this address; retry later",
                )

    def count_failure(self, address: str) -> None:
        """Count one failed authentication (a 401) against ``address``."""
        for item in self.failed_auth:
            self._safely(self.strategy.hit, item, address)

    def hit_token(self, token_id: str) -> None:
        """Count one request of the verified token ``token_id``; 429 when over its limit."""
        for item in self.per_token:
            if not self._safely(self.strategy.hit, item, token_id, scope=TOKEN_SCOPE):
                self._refuse(
                    item, TOKEN_SCOPE, token_id, "Too many requests with this token; retry later"
                )

    def _safely(
        self,
        check: Callable[..., bool],
        item: RateLimitItem,
        key: str,
        scope: str = FAILED_AUTH_SCOPE,
    ) -> bool:
        try:
            return check(item, scope, key)
        except Exception as error:  # an unreachable shared storage lets requests through
            log.warning(
                "rate limit storage failed; request let through",
                extra={"fields": {"event": "rate_limit_error", "error": repr(error)}},
            )
            return True

    def _refuse(self, item: RateLimitItem, scope: str, key: str, message: str) -> None:
        try:
            reset = self.strategy.get_window_stats(item, scope, key).reset_time
        except Exception:  # storage failed between the check and now: the window's length
            reset = time.time() + item.get_expiry()
        seconds = max(1, math.ceil(reset - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            message,
            {"limit": str(item), "scope": scope, "retry_after_seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )
