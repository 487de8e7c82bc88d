"""Each client's ``Last-Modified``: when that client's newest heartbeat was received.

Why per client: the warehouse-wide newest heartbeat, the same for every caller, told
a client polling its own answers when some other client's data last arrived. The
build keeps one row per client (the registry's ``freshness`` mart,
``fct_client_freshness``); this reads it once per data version, as ``api.known_ids``
reads the existence checks, so a header costs no query per request. Data only moves
forward, so the time given is never older than the answer's data (where the version is
read after the data, it can only be newer). Without a version (a PostgreSQL warehouse
no dbt run of this project has stamped yet) it is one small query.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from api.per_version import PerVersion
from api.warehouse_reader import Reader
from daybook.refresh_state import as_utc
from daybook.semantic.registry import Registry

log = logging.getLogger(__name__)


@dataclass
class ClientFreshness:
    """Each client's newest heartbeat time, at the last few data versions."""

    registry: Registry
    dialect: str
    _loaded: PerVersion[Mapping[str, datetime | None]] = field(
        default_factory=PerVersion, repr=False
    )
    _sql: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Built once, before request threads run (sqlglot generation is kept out of them).
        # The registry's `freshness` mart: keyed by its grain (the tenant key), the time
        # in its time_column (both checked against dbt's manifest when the catalogue loads).
        mart = self.registry.freshness
        if mart is None or mart.time_column is None:
            return
        key = exp.column(mart.grain[0], quoted=True)
        select = exp.select(key, exp.column(mart.time_column, quoted=True)).from_(
            exp.to_table(mart.model)
        )
        self._sql["all"] = select.sql(dialect=self.dialect)
        self._sql["one"] = select.where(key.eq(exp.Placeholder())).sql(dialect=self.dialect)

    def newest(self, reader: Reader, version: Hashable | None, client_id: str) -> datetime | None:
        """When ``client_id``'s newest heartbeat was received (UTC), or None: no heartbeat
        of that client, no freshness mart declared, or the mart cannot be read now (a
        warehouse built before it existed; a failed read is not kept, the next request
        reads again)."""
        if not self._sql:
            return None
        client_id = client_id.lower()
        if version is None:
            rows = self._read(reader, "one", [client_id])
            return as_utc(rows[0][1]) if rows else None
        times = self._loaded.get(version, lambda: self._read_all(reader))
        return None if times is None else times.get(client_id)

    def _read_all(self, reader: Reader) -> Mapping[str, datetime | None] | None:
        rows = self._read(reader, "all", [])
        return None if rows is None else {str(row[0]): as_utc(row[1]) for row in rows}

    def _read(self, reader: Reader, which: str, parameters: list[str]) -> list[tuple] | None:
        """The rows, or None when the read failed (logged; a header never fails an answer)."""
        try:
            return reader.fetch_all(self._sql[which], parameters)
        except Exception:  # a header must never turn an answer into an error
            log.warning("cannot read each client's freshness; answering without Last-Modified")
            return None
