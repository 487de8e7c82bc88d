"""Which clients exist, and which entities under each, at one data version: the 404 checks.

Loaded once per data version (``Reader.data_version``: the published snapshot
on DuckDB, the last dbt run's stamp on PostgreSQL), so the existence checks of
the activity endpoints cost no query (on DuckDB a query costs about a
millisecond even when it reads nothing). The version is read before anything
else in a request (``api.request_state``), and data only moves forward, so
what is loaded for a version is never older than it. Without a version (a
PostgreSQL warehouse whose marts no dbt run of this project has stamped yet)
existence is one query. The tenant's and entities' marts and keys come from the
semantic registry (``semantic/entities.yml``).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlglot import exp

from api.per_version import PerVersion
from api.warehouse_reader import Reader
from daybook.semantic import Catalog
from daybook.semantic.definitions import Entity, Tenant


@dataclass(frozen=True)
class _Ids:
    clients: frozenset[str]
    entities: dict[str, frozenset[tuple[str, str]]]  # entity -> {(client id, entity id)}


@dataclass
class KnownIds:
    """Which clients exist, and which entities (users, devices) under each, at one data version."""

    catalog: Catalog
    dialect: str
    _ids: PerVersion[_Ids] = field(default_factory=PerVersion, repr=False)
    _sql: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Built once, before request threads run (sqlglot generation is kept out of them).
        # Keyed by entity name; the tenant's own list under ":tenant" (no entity is named so,
        # and the client-wide entity "client" reads the same mart as a (client, client) pair).
        tenant = self.catalog.registry.require_tenant()
        self._sql[":tenant"] = (
            exp.select(exp.column(tenant.key, quoted=True))
            .from_(exp.to_table(tenant.model))
            .sql(dialect=self.dialect)
        )
        for name, spec in self.catalog.entities.items():
            columns = [exp.column(spec.tenant_key, quoted=True), exp.column(spec.key, quoted=True)]
            self._sql[name] = (
                exp.select(*columns).from_(exp.to_table(spec.model)).sql(dialect=self.dialect)
            )
            self._sql[f"exists:{name}"] = _existence_sql(tenant, spec, self.dialect)

    def missing(
        self, reader: Reader, version: Hashable | None, entity: str, client_id: str, entity_id: str
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

    def _at(self, reader: Reader, version: Hashable) -> _Ids:
        ids = self._ids.get(version, lambda: self._read(reader))
        assert ids is not None  # _read raises rather than returning None
        return ids

    def _read(self, reader: Reader) -> _Ids:
        clients = frozenset(str(row[0]) for row in reader.fetch_all(self._sql[":tenant"], []))
        entities = {
            name: frozenset(
                (str(tenant), str(key)) for tenant, key in reader.fetch_all(self._sql[name], [])
            )
            for name in self.catalog.entities
        }
        return _Ids(clients, entities)


def _existence_sql(tenant: Tenant, spec: Entity, dialect: str) -> str:
    """One round trip: does the client exist, and the entity under it?

    Parameters, in order: client id, entity id, client id.
    """

    def count(table: str, *conditions: exp.Expression) -> exp.Expression:
        query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table))
        return query.where(exp.and_(*conditions)).subquery()

    client = count(tenant.model, exp.column(tenant.key, quoted=True).eq(exp.Placeholder()))
    entity = count(
        spec.model,
        exp.column(spec.key, quoted=True).eq(exp.Placeholder()),
        exp.column(spec.tenant_key, quoted=True).eq(exp.Placeholder()),
    )
    return exp.select(client.as_("client_rows"), entity.as_("entity_rows")).sql(dialect=dialect)
