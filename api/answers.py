"""Answering an activity request: one query, and a cache of answers keyed on the data's version.

One query: the compiled metric query carries two scalar subqueries that say
whether the client exists and the entity under it, so a request makes one
round trip, and its 404 checks and its series read the same data (one
DuckDB snapshot; one PostgreSQL statement).

The cache: the serialised 200 answer, filed under the warehouse's data version
(``Reader.data_version``: the published snapshot on DuckDB, the last dbt run's
stamp on PostgreSQL). The version is read before the query, and data only
moves forward, so an entry is never older than its version; a new build or
snapshot changes the version and every older entry stops matching. Size is
bounded in bytes (least recently used first out). Authentication and the
token's grant run before the cache is consulted, so a cached answer is only
ever given to a caller allowed to ask for it.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from sqlglot import exp

from api.data import CLIENT_KEY, CLIENT_MODEL
from daybook.semantic.compiler import GRANULARITIES, parameter, render
from daybook.semantic.dialects import get_dialect

CLIENT_ROWS = "daybook_client_rows"
ENTITY_ROWS = "daybook_entity_rows"
_ENTRY_OVERHEAD = 200  # bytes of key, tuple and dict slot per entry, roughly


def _count(table: str, *conditions: exp.Expression) -> exp.Expression:
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table))
    return query.where(exp.and_(*conditions)).subquery()


@dataclass
class AnswerQueries:
    """The metric query of each (metric, entity, granularity) with its existence columns.

    Every row carries ``client_rows`` and ``entity_rows`` (uncorrelated scalar
    subqueries, evaluated once); the bucket spine guarantees at least one row.
    Built from the catalogue's compiled tree, so it binds the same named
    parameters (``tenant_id``, ``entity_id``, ``start_date``, ``end_date``).
    """

    catalog: Any
    dialect: str
    _sql: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)

    def sql(self, *, metric: str, entity: str, granularity: str) -> str:
        key = (metric, entity, granularity)
        text = self._sql.get(key)
        if text is None:
            text = self._sql.setdefault(key, self._build(metric, entity, granularity))
        return text

    def warm(self) -> int:
        """Build every query now, before request threads run (see ``api.app._warm_sql``)."""
        keys = [
            (metric.name, entity, granularity)
            for metric in self.catalog.metrics.values()
            for entity in metric.entities
            for granularity in GRANULARITIES
        ]
        for metric, entity, granularity in keys:
            self.sql(metric=metric, entity=entity, granularity=granularity)
        return len(keys)

    def _build(self, metric: str, entity: str, granularity: str) -> str:
        dialect = get_dialect(self.dialect)
        compiled = self.catalog.compile(
            metric=metric, entity=entity, granularity=granularity, dialect=self.dialect
        )
        spec = self.catalog.entities[entity]
        tenant = parameter("tenant_id", dialect)
        client_rows = _count(CLIENT_MODEL, exp.column(CLIENT_KEY, quoted=True).eq(tenant))
        entity_rows = _count(
            spec.model,
            exp.column(spec.key, quoted=True).eq(parameter("entity_id", dialect)),
            exp.column(spec.tenant_key, quoted=True).eq(parameter("tenant_id", dialect)),
        )
        tree = compiled.tree.copy().select(
            client_rows.as_(CLIENT_ROWS), entity_rows.as_(ENTITY_ROWS), copy=False
        )
        return render(tree, dialect)[0]


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
        self.hits = 0
        self.misses = 0

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
            self.misses += 1
            return None

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
