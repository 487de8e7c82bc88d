"""The loaded catalogue (tenant, entities, shared marts, metrics) and the compile cache in
front of the compiler; ``Catalog.registry`` is the registry the other layers derive from.

Every metric, simple or not, compiles through ``metric_sql.compile_metric`` over dbt's
semantic manifest: one compiler, so a metric reads the same on the users, devices and
client-wide endpoints and in every dialect. What the catalogue adds is its own promises:
request checks naming the valid values, the registry's key columns (``registry_keys``)
and 0 for an empty bucket of a simple metric (``zero_fill``, the contract's integers).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from daybook.semantic.calendar import GRANULARITIES
from daybook.semantic.definitions import Entity, Mart, Metric, Tenant
from daybook.semantic.errors import SemanticError
from daybook.semantic.query import CompiledQuery
from daybook.semantic.registry import Registry

CacheKey = tuple[str, str, str, str, str]


@dataclass
class Catalog:
    """Validated tenant, entities, shared marts and metrics (YAML order), with compiled
    queries cached per key.

    A request costs one dictionary lookup after the first compile of its
    (metric, entity, granularity, dialect); the catalogue is immutable once
    loaded, so the cache never needs invalidating (reload = new catalogue).
    """

    entities: dict[str, Entity]
    metrics: dict[str, Metric]
    sources: dict[str, Path] = field(default_factory=dict)  # "metric:x"/"entity:y" -> file
    tenant: Tenant | None = None
    marts: dict[str, Mart] = field(default_factory=dict)
    # dbt's semantic manifest the metrics came from (PydanticSemanticManifest), what every
    # metric compiles from; None for a catalogue made by hand (which cannot compile).
    semantic_manifest: Any = field(default=None, repr=False)
    _cache: dict[CacheKey, CompiledQuery] = field(default_factory=dict, repr=False)
    _view: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def registry(self) -> Registry:
        """Which tenant, entities and marts exist: what the API, serving and checks derive."""
        return Registry(tenant=self.tenant, entities=self.entities, marts=self.marts)

    def metrics_for(self, entity: str) -> list[Metric]:
        """Metrics that may be asked about ``entity``, in YAML order."""
        return [metric for metric in self.metrics.values() if entity in metric.entities]

    def compile(
        self, *, metric: str, entity: str, granularity: str, dialect: str, shape: str = "series"
    ) -> CompiledQuery:
        """The compiled query for this key, compiled on first use and cached.

        ``shape``: ``"series"`` (every bucket of the range, zero-filled, in SQL) or
        ``"buckets"`` (only the buckets holding rows; ``calendar.fill`` completes them).
        """
        key = (metric, entity, granularity, dialect, shape)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        compiled = self._compile(metric, entity, granularity, dialect, shape)
        with self._lock:
            return self._cache.setdefault(key, compiled)

    def warm(self, dialect: str, shape: str = "series") -> int:
        """Compile every valid key for ``dialect`` now (e.g. at API start); returns how many."""
        keys = [
            (metric.name, entity, granularity)
            for metric in self.metrics.values()
            for entity in metric.entities
            for granularity in GRANULARITIES
        ]
        for metric, entity, granularity in keys:
            self.compile(
                metric=metric,
                entity=entity,
                granularity=granularity,
                dialect=dialect,
                shape=shape,
            )
        return len(keys)

    def _compile(
        self,
        metric_name: str,
        entity_name: str,
        granularity: str,
        dialect_name: str,
        shape: str = "series",
    ) -> CompiledQuery:
        metric = self.metrics.get(metric_name)
        if metric is None:
            raise SemanticError(
                f"Unknown metric: {metric_name}. Valid values: {', '.join(self.metrics)}"
            )
        entity = self.entities.get(entity_name)
        if entity is None:
            raise SemanticError(
                f"Unknown entity: {entity_name}. Valid values: {', '.join(self.entities)}"
            )
        if entity_name not in metric.entities:
            valid = ", ".join(m.name for m in self.metrics_for(entity_name))
            raise SemanticError(
                f"Metric {metric_name} is not defined for entity {entity_name}. "
                f"Valid values: {valid}"
            )
        if granularity not in GRANULARITIES:
            raise SemanticError(
                f"Unknown granularity: {granularity}. Valid values: {', '.join(GRANULARITIES)}"
            )
        from daybook.semantic.metric_sql import compile_metric

        compiled = compile_metric(
            self.manifest_view(),
            metric.dbt_name,
            entity.name,
            granularity,
            dialect_name,
            shape=shape,
            zero_fill=metric.simple,
        )
        return replace(compiled, metric=metric.name)

    def manifest_view(self) -> Any:
        """The ``metric_sql.ManifestView`` of the semantic manifest, made once, with the
        registry's key columns (a simple metric's semantic model may leave out the tenant
        entity, as a metric served per user alone does; the registry still scopes it)."""
        if self._view is None:
            if self.semantic_manifest is None:
                raise SemanticError("this catalogue has no dbt semantic manifest to compile from")
            from daybook.semantic.metric_sql import ManifestView

            tenant = next(
                (e.name for e in self.entities.values() if e.key == e.tenant_key), "client"
            )
            with self._lock:
                if self._view is None:
                    self._view = ManifestView(
                        self.semantic_manifest,
                        tenant_entity=tenant,
                        registry_keys={e.name: e.key for e in self.entities.values()},
                    )
        return self._view
