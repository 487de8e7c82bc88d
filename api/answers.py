"""What answering an activity request needs besides the metric query: who exists, and a cache.

Both are keyed on the warehouse's data version (``Reader.data_version``: the
published snapshot on DuckDB, the last dbt run's stamp on PostgreSQL). The
version is read before anything else in a request, and data only moves
forward, so what is filed under a version is never older than it.

* :class:`KnownIds`: the client ids, and the (client, id) pairs of each entity,
  loaded once per version, so the 404 checks cost no query (on DuckDB a query
  costs about a millisecond even when it reads nothing).
* :class:`AnswerCache`: the serialised 200 answers, bounded in bytes, least
  recently used out first. Authentication and the token's grant run before the
  cache is consulted, so a cached answer only reaches a caller allowed to ask.

Without a version (a PostgreSQL warehouse whose marts no dbt run of this
project has stamped yet) nothing is cached and existence is one query.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from sqlglot import exp

from api.data import CLIENT_KEY, CLIENT_MODEL

_ENTRY_OVERHEAD = 200  # bytes of key, tuple and dict slot per entry, roughly


@dataclass(frozen=True)
class _Ids:
    clients: frozenset[str]
    entities: dict[str, frozenset[tuple[str, str]]]  # entity -> {(client id, entity id)}


@dataclass
class KnownIds:
    """Which clients exist, and which users and devices under each, at one data version."""

    catalog: Any
    dialect: str
    _ids: _Ids | None = field(default=None, repr=False)
    _version: Hashable | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _sql: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Built once, before request threads run (sqlglot generation is kept out of them).
        self._sql["client"] = (
            exp.select(exp.column(CLIENT_KEY, quoted=True))
            .from_(exp.to_table(CLIENT_MODEL))
            .sql(dialect=self.dialect)
        )
        for name, spec in self.catalog.entities.items():
            columns = [exp.column(spec.tenant_key, quoted=True), exp.column(spec.key, quoted=True)]
            self._sql[name] = (
                exp.select(*columns).from_(exp.to_table(spec.model)).sql(dialect=self.dialect)
            )
            self._sql[f"exists:{name}"] = _existence_sql(spec, self.dialect)

    def missing(
        self, reader: Any, version: Hashable | None, entity: str, client_id: str, entity_id: str
    ) -> str | None:
        """``"client"`` or ``"entity"`` when that one does not exist, else None."""
        if version is None:
            rows = reader.fetch_all(
                self._sql[f"exists:{entity}"], [client_id, entity_id, client_id]
            )
            client_rows, entity_rows = rows[0]
            return "client" if not client_rows else None if entity_rows else "entity"
        ids = self._at(reader, version)
        if client_id not in ids.clients:
            return "client"
        return None if (client_id, entity_id) in ids.entities[entity] else "entity"

    def _at(self, reader: Any, version: Hashable) -> _Ids:
        ids = self._ids
        if ids is not None and self._version == version:
            return ids
        with self._lock:
            if self._ids is None or self._version != version:
                clients = frozenset(
                    str(row[0]) for row in reader.fetch_all(self._sql["client"], [])
                )
                entities = {
                    name: frozenset(
                        (str(tenant), str(key))
                        for tenant, key in reader.fetch_all(self._sql[name], [])
                    )
                    for name in self.catalog.entities
                }
                self._ids, self._version = _Ids(clients, entities), version
            return self._ids


def _existence_sql(spec: Any, dialect: str) -> str:
    """One round trip: does the client exist, and the entity under it?

    Parameters, in order: client id, entity id, client id.
    """

    def count(table: str, *conditions: exp.Expression) -> exp.Expression:
        query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table))
        return query.where(exp.and_(*conditions)).subquery()

    client = count(CLIENT_MODEL, exp.column(CLIENT_KEY, quoted=True).eq(exp.Placeholder()))
    entity = count(
        spec.model,
        exp.column(spec.key, quoted=True).eq(exp.Placeholder()),
        exp.column(spec.tenant_key, quoted=True).eq(exp.Placeholder()),
    )
    return exp.select(client.as_("client_rows"), entity.as_("entity_rows")).sql(dialect=dialect)


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
