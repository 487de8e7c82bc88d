"""Each client's ``Last-Modified``: when that client's newest heartbeat was received.

Why per client: the warehouse-wide newest heartbeat, the same for every caller, told
a client polling its own answers when some other client's data last arrived. The
build keeps one row per client (the registry's ``freshness`` mart,
``fct_client_freshness``); this reads it once per data version, as ``api.known_ids``
reads the existence checks, so a header costs no query per request. The version is
read before anything else in a request and data only moves forward, so the time
given is never older than the answer's data. Without a version (a PostgreSQL
warehouse no dbt run of this project has stamped yet) it is one small query.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from api.warehouse_reader import Reader
from daybook.refresh_state import as_utc
from daybook.semantic.registry import Registry

log = logging.getLogger(__name__)

NEWEST_COLUMN = "newest_received_at_utc"


@dataclass(frozen=True)
class _Loaded:
    version: Hashable
    times: Mapping[str, datetime | None]


@dataclass
class ClientFreshness:
    """Each client's newest heartbeat time, at one data version."""

    registry: Registry
    dialect: str
    _loaded: _Loaded | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _sql: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Built once, before request threads run (sqlglot generation is kept out of them).
        mart = self.registry.freshness
        if mart is None:
            return
        key = exp.column(self.registry.require_tenant().key, quoted=True)
        select = exp.select(key, exp.column(NEWEST_COLUMN, quoted=True)).from_(
            exp.to_table(mart.model)
        )
        self._sql["all"] = select.sql(dialect=self.dialect)
        self._sql["one"] = select.where(key.eq(exp.Placeholder())).sql(dialect=self.dialect)

    def newest(self, reader: Reader, version: Hashable | None, client_id: str) -> datetime | None:
        """When ``client_id``'s newest heartbeat was received (UTC), or None: no heartbeat
        of that client, no freshness mart declared, or the mart cannot be read (a
        warehouse built before it existed)."""
        if not self._sql:
            return None
        client_id = client_id.lower()
        if version is None:
            rows = self._read(reader, "one", [client_id])
            return as_utc(rows[0][1]) if rows else None
        loaded = self._loaded
        if loaded is None or loaded.version != version:
            with self._lock:
                loaded = self._loaded
                if loaded is None or loaded.version != version:
                    rows = self._read(reader, "all", [])
                    loaded = _Loaded(version, {str(row[0]): as_utc(row[1]) for row in rows})
                    self._loaded = loaded
        return loaded.times.get(client_id)

    def _read(self, reader: Reader, which: str, parameters: list[str]) -> list[tuple]:
        try:
            return reader.fetch_all(self._sql[which], parameters)
        except Exception:  # a header must never turn an answer into an error
            log.warning("cannot read each client's freshness; answering without Last-Modified")
            return []
