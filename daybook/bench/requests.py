"""The benchmark's request mix: real ids, every metric and granularity, 90-day ranges.

Requests are grouped by (entity, granularity); each group rotates through
every metric of that entity over sampled ids and ranges, so one load run
covers "every metric" for that endpoint and granularity.

Apart from those, ``sample_kind_requests`` groups requests by (entity, metric kind) at
one granularity: the kinds (``METRIC_KINDS``) are read from the catalogue, by a metric's
dbt type and parameters, never by its name, so each kind's cost can be seen beside the
simple metrics'. Those runs also cover the client-wide series (the tenant's own entity,
``GET /v2/clients/{client_id}/analytics/activity``), asked about clients with activity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from daybook.config import Warehouse

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")
RANGE_DAYS = 90

# The runs by metric kind: one granularity (bench/README.md says why weekly), and the
# kinds in report order, each with what makes a metric of that kind.
KIND_GRANULARITY = "weekly"
ROLLING_WINDOW_DAYS = 28
METRIC_KINDS = {
    "simple": "a simple metric: one aggregation over one mart, no filter",
    "ratio": "a ratio metric",
    f"rolling {ROLLING_WINDOW_DAYS}d": (
        f"a cumulative metric over a trailing {ROLLING_WINDOW_DAYS}-day window"
    ),
    "offset": "a derived metric with an offset_window input",
}


@dataclass(frozen=True)
class Request:
    """One API question. ``entity_id`` is None for the tenant's own (client-wide) series,
    whose query binds no entity id (``CompiledQuery.parameters``)."""

    entity: str
    metric: str
    granularity: str
    client_id: str
    entity_id: str | None
    start: date
    end: date

    @classmethod
    def over_range(
        cls,
        entity: str,
        metric: str,
        granularity: str,
        client_id: str,
        entity_id: str | None,
        start: date,
    ) -> Request:
        """The request for the ``RANGE_DAYS`` days (inclusive) from ``start``."""
        end = start + timedelta(days=RANGE_DAYS - 1)
        return cls(entity, metric, granularity, client_id, entity_id, start, end)

    def _query(self) -> str:
        return urlencode(
            {
                "metric": self.metric,
                "granularity": self.granularity,
                "start_date": self.start.isoformat(),
                "end_date": self.end.isoformat(),
            }
        )

    def api_path(self) -> str:
        """The API's URL: one entity's, or the client-wide one (``entity_id`` None)."""
        scope = "" if self.entity_id is None else f"{self.entity}s/{self.entity_id}/"
        return f"/v2/clients/{self.client_id}/analytics/{scope}activity?{self._query()}"

    def bare_path(self) -> str:
        """The bare floor app's URL (``daybook.bench.bare``), the same two shapes."""
        scope = "" if self.entity_id is None else f"/{self.entity_id}"
        return f"/bare/{self.entity}/{self.client_id}{scope}?{self._query()}"


def _rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    from daybook.bench.served import served_rows

    return served_rows(warehouse, sql)


def _span(warehouse: Warehouse, registry: Any) -> tuple[date, int]:
    """The activity fact's first day and how many days later a 90-day range may start."""
    activity, day = registry.activity.model, registry.day_column
    first, last = _rows(warehouse, f"select min({day}), max({day}) from {activity}")[0]
    return first, max(0, (last - first).days - (RANGE_DAYS - 1))


def _active_ids(warehouse: Warehouse, registry: Any, entity: Any) -> list[tuple]:
    """(tenant id, entity id) of every entity with activity in the activity fact, in order;
    for the tenant's own entity (its key is its tenant key) (client id, None) of every
    client with activity, so the client-wide requests ask about clients that exist."""
    activity, tenant, key = registry.activity.model, entity.tenant_key, entity.key
    if key == tenant:
        rows = _rows(warehouse, f"select distinct {tenant} from {activity} order by {tenant}")
        return [(client_id, None) for (client_id,) in rows]
    return _rows(
        warehouse,
        f"select {tenant}, {key} from (select distinct {tenant}, {key} "
        f"from {activity}) as active order by {tenant}, {key}",
    )


def sample_requests(
    warehouse: Warehouse,
    catalog: Any,
    *,
    granularities: tuple[str, ...] = GRANULARITIES,
    per_group: int = 64,
    seed: int = 5,
) -> dict[tuple[str, str], list[Request]]:
    """Requests per (entity, granularity), ids of active entities, 90-day inclusive ranges.

    The entities are those of the activity fact (the registry's, ``catalog.registry``),
    the ids those with activity in it.
    """
    rng = random.Random(seed)
    registry = catalog.registry
    first, span = _span(warehouse, registry)
    groups: dict[tuple[str, str], list[Request]] = {}
    for described in registry.activity_entities():
        entity = described.name
        ids = _active_ids(warehouse, registry, described)
        metrics = [metric.name for metric in catalog.metrics_for(entity)]
        for granularity in granularities:
            batch = []
            for index in range(per_group):
                client_id, entity_id = ids[rng.randrange(len(ids))]
                start = first + timedelta(days=rng.randint(0, span))
                batch.append(
                    Request.over_range(
                        entity,
                        metrics[index % len(metrics)],
                        granularity,
                        client_id,
                        entity_id,
                        start,
                    )
                )
            groups[(entity, granularity)] = batch
    return groups


def metric_kind(catalog: Any, metric: Any) -> str | None:
    """The kind of ``metric`` (a key of ``METRIC_KINDS``), or None for any other metric.

    Read from the catalogue: ``Metric.simple`` (one aggregation over one mart, no filter) and
    ``Metric.type``, and for cumulative and derived metrics dbt's own parameters in the
    semantic manifest (``Catalog.manifest_view``): the cumulative window as the compiler
    reads it (``metric_sql.plan.cumulative_window``: ``28 days`` and ``4 weeks`` are both
    28 days), and an ``offset_window`` on any input of a derived metric.
    """
    if metric.simple:
        return "simple"
    if metric.type == "ratio":
        return "ratio"
    if metric.type not in ("cumulative", "derived") or catalog.semantic_manifest is None:
        return None
    spec = catalog.manifest_view().metric(metric.dbt_name)
    if metric.type == "cumulative":
        from daybook.semantic.metric_sql.plan import cumulative_window

        window = cumulative_window(spec)
        trailing = window.shift == (ROLLING_WINDOW_DAYS, "DAY") and window.grain is None
        return f"rolling {ROLLING_WINDOW_DAYS}d" if trailing else None
    inputs = spec.type_params.metrics or ()
    return "offset" if any(item.offset_window is not None for item in inputs) else None


def metrics_by_kind(catalog: Any, entity: str) -> dict[str, list[str]]:
    """The API names of ``entity``'s metrics per kind (every kind, maybe with none), in
    YAML order."""
    found: dict[str, list[str]] = {kind: [] for kind in METRIC_KINDS}
    for metric in catalog.metrics_for(entity):
        kind = metric_kind(catalog, metric)
        if kind is not None:
            found[kind].append(metric.name)
    return found


def kind_entities(registry: Any) -> list[Any]:
    """The endpoints of the runs by metric kind: the activity fact's listed entities, then
    the tenant's own entity (the client-wide series) when the fact has its key, so the
    endpoint that sums every user and device is measured beside the single-entity ones
    (the listed entities come first, so their samples do not depend on it)."""
    grain = set(registry.activity.grain)
    tenants = [
        entity
        for entity in registry.entities.values()
        if entity.key == entity.tenant_key and entity.key in grain
    ]
    return [*registry.activity_entities(), *tenants]


def sample_kind_requests(
    warehouse: Warehouse,
    catalog: Any,
    *,
    granularity: str = KIND_GRANULARITY,
    per_group: int = 64,
    seed: int = 7,
) -> tuple[dict[tuple[str, str], list[Request]], list[str]]:
    """Requests per (entity, metric kind) at one granularity, and the kinds skipped.

    Every kind of an entity asks about the same sampled ids and 90-day ranges, rotating
    through that entity's metrics of the kind, so two kinds differ only in their metrics.
    A kind the entity has no metric of is left out and named in the second value.
    The entities are ``kind_entities``: the listed ones, then the client-wide series.
    """
    rng = random.Random(seed)
    registry = catalog.registry
    first, span = _span(warehouse, registry)
    groups: dict[tuple[str, str], list[Request]] = {}
    skipped: list[str] = []
    for described in kind_entities(registry):
        entity = described.name
        ids = _active_ids(warehouse, registry, described)
        sampled = []
        for _ in range(per_group):
            client_id, entity_id = ids[rng.randrange(len(ids))]
            sampled.append((client_id, entity_id, first + timedelta(days=rng.randint(0, span))))
        for kind, metrics in metrics_by_kind(catalog, entity).items():
            if not metrics:
                skipped.append(
                    f"the {kind} run for {entity}: no {entity} metric is {METRIC_KINDS[kind]}"
                )
                continue
            groups[(entity, kind)] = [
                Request.over_range(
                    entity, metrics[index % len(metrics)], granularity, client_id, entity_id, start
                )
                for index, (client_id, entity_id, start) in enumerate(sampled)
            ]
    return groups, skipped
