"""Which entities and marts exist: the one registry every layer derives mart names from.

``semantic/entities.yml`` declares the tenant (the client), the entities (user,
device) with their dimension and dense daily marts, and the marts that belong
to no single entity (the activity fact, the calendar, each client's freshness, the
quarantine); the dbt manifest says their columns (``loader.py`` checks them against it). Nothing
else spells a mart or entity name: the API's routes, directory and existence
checks (``api``), the serving snapshot's tables and sort orders
(``daybook.serving``) and the expectations' relations (``daybook.quality``)
are all computed here from the YAML, so adding an entity or renaming a mart is
a YAML edit.

Kept a small frozen object over the YAML models so the next steps can extend it
in one place: a ``client`` entity (the tenant as something metrics are asked
about), metrics read from dbt's ``semantic_models``, another warehouse engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from daybook.semantic.definitions import Entity, Mart, Tenant
from daybook.semantic.errors import SemanticError

# The shared marts code reads by role. The finest-grain daily activity fact (the directory's
# rankings and activity days; the time column of every dense daily mart):
ACTIVITY = "activity"
# Each client's newest heartbeat (one row per client id), the API's Last-Modified for that
# client's answers; optional: without it answers carry no Last-Modified.
FRESHNESS = "freshness"


def _unique(columns: Iterable[str]) -> tuple[str, ...]:
    """Columns in order, each once (a tenant entity's key is its own tenant key)."""
    return tuple(dict.fromkeys(columns))


@dataclass(frozen=True)
class Registry:
    """The tenant, the entities (YAML order) and the shared marts (by role), validated."""

    tenant: Tenant | None
    entities: Mapping[str, Entity]
    marts: Mapping[str, Mart]

    def require_tenant(self) -> Tenant:
        """The tenant; a catalogue without one cannot serve the API or a snapshot."""
        if self.tenant is None:
            raise SemanticError("semantic/: no `tenant:` declared (see semantic/README.md)")
        return self.tenant

    def mart(self, role: str) -> Mart:
        """The shared mart playing ``role`` (``activity``, ``dates``, ``freshness``,
        ``quarantine``)."""
        try:
            return self.marts[role]
        except KeyError:
            declared = ", ".join(self.marts) or "none"
            raise SemanticError(
                f"semantic/: no shared mart {role!r} declared under `marts:` (declared: {declared})"
            ) from None

    @property
    def activity(self) -> Mart:
        """The daily activity fact at its finest grain."""
        return self.mart(ACTIVITY)

    @property
    def freshness(self) -> Mart | None:
        """Each client's newest heartbeat, keyed by the tenant key; None when not declared."""
        return self.marts.get(FRESHNESS)

    @property
    def day_column(self) -> str:
        """The local-day column of the activity fact and of every dense daily mart."""
        column = self.activity.time_column
        if column is None:
            raise SemanticError(f"semantic/: the {ACTIVITY!r} mart declares no time_column")
        return column

    def listed_entities(self) -> list[Entity]:
        """Entities listed under a tenant (the directory): all but one that is the tenant
        itself (its key is its tenant key, as a client-wide entity's would be)."""
        return [entity for entity in self.entities.values() if entity.key != entity.tenant_key]

    def activity_entities(self) -> list[Entity]:
        """Listed entities the activity fact is at (their key is in its grain): they can be
        ranked, and a dense daily mart counts them per day."""
        grain = set(self.activity.grain)
        return [entity for entity in self.listed_entities() if entity.key in grain]

    def counted_entities(self, entity: Entity) -> list[Entity]:
        """The entities a dense daily mart of ``entity`` counts per day (``<name>_count``):
        the other entities of the activity fact."""
        return [other for other in self.activity_entities() if other.name != entity.name]

    def sort_order(self, entity: Entity, *, daily: bool) -> tuple[str, ...]:
        """Tenant, entity key (and day, for the dense daily mart): one entity's rows together."""
        columns = [entity.tenant_key, entity.key]
        return _unique([*columns, self.day_column] if daily else columns)

    def serving_tables(self) -> dict[str, tuple[str, ...]]:
        """Every mart the API reads, with the sort order that keeps one entity's rows together
        (DuckDB's zone maps then skip most row groups per request).

        Dimensions sort by (tenant key, key), dense daily marts by (tenant key, key, day),
        shared marts by their declared grain; the tenant by its key.
        """
        tenant = self.require_tenant()
        tables: dict[str, tuple[str, ...]] = {tenant.model: (tenant.key,)}
        for entity in self.entities.values():
            tables.setdefault(entity.model, self.sort_order(entity, daily=False))
        for mart in self.marts.values():
            if mart.served:
                tables.setdefault(mart.model, mart.grain)
        for entity in self.entities.values():
            if entity.daily_model is not None:
                tables.setdefault(entity.daily_model, self.sort_order(entity, daily=True))
        return tables

    def dimensions(self) -> list[tuple[str, str]]:
        """(model, key) of every dimension: the tenant, each entity, each dimension mart."""
        pairs = [] if self.tenant is None else [(self.tenant.model, self.tenant.key)]
        pairs += [(entity.model, entity.key) for entity in self.entities.values()]
        pairs += [(m.model, m.grain[0]) for m in self.marts.values() if m.kind == "dimension"]
        return list(dict.fromkeys(pairs))

    def relations(self) -> dict[str, str]:
        """Mart names by the placeholder the expectations use: ``tenant``, each shared mart's
        role, ``<entity>_dimension`` and ``<entity>_daily``."""
        relations = {} if self.tenant is None else {"tenant": self.tenant.model}
        relations.update({role: mart.model for role, mart in self.marts.items()})
        for entity in self.entities.values():
            relations[f"{entity.name}_dimension"] = entity.model
            if entity.daily_model is not None:
                relations[f"{entity.name}_daily"] = entity.daily_model
        return relations
