"""Look-ups over a dbt semantic manifest: metrics, measures, entities and dimensions by name.

The compiler reads dbt-semantic-interfaces' own pydantic objects (what ``dbt parse``
writes to ``target/semantic_manifest.json``) through this one index, so the rest of
``metric_sql`` never walks the manifest's lists. Every failed look-up raises a
``SemanticError`` naming what was asked for and the nearest valid names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dbt_semantic_interfaces.implementations.metric import PydanticMetric
from dbt_semantic_interfaces.implementations.semantic_manifest import PydanticSemanticManifest
from dbt_semantic_interfaces.implementations.semantic_model import PydanticSemanticModel
from dbt_semantic_interfaces.type_enums import EntityType

from daybook.semantic.errors import SemanticError, did_you_mean
from daybook.semantic.expressions import SAFE_IDENTIFIER

# Entity types that identify one row of their semantic model (safe to join to: no fan-out).
ROW_IDENTIFYING = (EntityType.PRIMARY, EntityType.UNIQUE, EntityType.NATURAL)


@dataclass(frozen=True)
class MeasureSource:
    """A measure with the semantic model holding it (a measure's name is unique in a manifest)."""

    measure_name: str
    model: PydanticSemanticModel

    @property
    def measure(self):  # PydanticMeasure
        return next(m for m in self.model.measures if m.name == self.measure_name)


class ManifestView:
    """An index over one semantic manifest; immutable, cheap to query.

    ``tenant_entity`` names the entity every query is scoped by (contract section 3:
    ``client``); a semantic model must carry it to be read at all, unless
    ``registry_keys`` is given.

    ``registry_keys`` (entity name -> key column, ``semantic/entities.yml``): the
    catalogue's promise that every row of an entity's marts carries its key and the
    tenant key. With it, a metric the catalogue serves on an entity scopes a semantic
    model that does not name that entity (or the tenant) by the registry's column, as
    the catalogue's column checks vouch for (``columns.py``): a simple metric over a
    model with only a ``user`` entity is served per user, filtered on ``client_id``.
    Without it (a bare manifest), such a model cannot be read for that entity.
    """

    def __init__(
        self,
        manifest: PydanticSemanticManifest,
        *,
        tenant_entity: str = "client",
        registry_keys: Mapping[str, str] | None = None,
    ):
        self.manifest = manifest
        self.tenant_entity = tenant_entity
        self.registry_keys = dict(registry_keys or {})
        self.metrics: dict[str, PydanticMetric] = {m.name: m for m in manifest.metrics}
        self.models: dict[str, PydanticSemanticModel] = {
            m.name: m for m in manifest.semantic_models
        }
        self.measures: dict[str, MeasureSource] = {
            measure.name: MeasureSource(measure.name, model)
            for model in manifest.semantic_models
            for measure in model.measures
        }

    @classmethod
    def from_json(cls, path: Path, **kwargs) -> ManifestView:
        """The view of a ``semantic_manifest.json`` written by ``dbt parse``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(PydanticSemanticManifest.parse_obj(data), **kwargs)

    def metric(self, name: str) -> PydanticMetric:
        try:
            return self.metrics[name]
        except KeyError:
            raise SemanticError(
                f"Unknown metric: {name}{did_you_mean(name, self.metrics)}. "
                f"Valid values: {', '.join(self.metrics)}"
            ) from None

    def measure(self, name: str, *, metric: str) -> MeasureSource:
        try:
            return self.measures[name]
        except KeyError:
            raise SemanticError(
                f"metric {metric}: unknown measure {name!r}{did_you_mean(name, self.measures)}"
            ) from None

    @staticmethod
    def entity_column(model: PydanticSemanticModel, entity: str) -> str | None:
        """The column (``expr``, else the name) of ``entity`` in ``model``, if it has it."""
        for candidate in model.entities:
            if candidate.name == entity:
                return candidate.expr or candidate.name
        return None

    def scope_column(self, model: PydanticSemanticModel, entity: str) -> str | None:
        """The column a query on ``entity`` (or the tenant) filters ``model`` by: the
        model's own entity column, else the registry's key (``registry_keys``)."""
        return self.entity_column(model, entity) or self.registry_keys.get(entity)

    @staticmethod
    def primary_entity(model: PydanticSemanticModel) -> str | None:
        if model.primary_entity:
            return model.primary_entity
        for entity in model.entities:
            if entity.type is EntityType.PRIMARY:
                return entity.name
        return None

    def identified_by(self, entity: str) -> list[PydanticSemanticModel]:
        """Models with one row per ``entity`` (its primary, unique or natural key)."""
        return [
            model
            for model in self.models.values()
            if any(e.name == entity and e.type in ROW_IDENTIFYING for e in model.entities)
        ]

    @staticmethod
    def dimension_column(model: PydanticSemanticModel, name: str) -> str | None:
        for dimension in model.dimensions:
            if dimension.name == name:
                return dimension.expr or dimension.name
        return None

    def reachable_dimensions(self, model: PydanticSemanticModel) -> list[str]:
        """Every ``entity__dimension`` a filter on ``model`` may name (own ones, one hop)."""
        names = []
        own = self.primary_entity(model)
        if own:
            names += [f"{own}__{d.name}" for d in model.dimensions]
        for entity in model.entities:
            for other in self.identified_by(entity.name):
                if other.name != model.name:
                    names += [f"{entity.name}__{d.name}" for d in other.dimensions]
        return names

    def time_column(self, source: MeasureSource, *, metric: str) -> str:
        """The measure's day column: its ``agg_time_dimension`` or the model's default."""
        model = source.model
        name = source.measure.agg_time_dimension or (
            model.defaults.agg_time_dimension if model.defaults else None
        )
        if not name:
            raise SemanticError(
                f"metric {metric}: semantic model {model.name} names no agg_time_dimension"
            )
        for dimension in model.dimensions:
            if dimension.name == name:
                column = (dimension.expr or dimension.name).strip()
                if not SAFE_IDENTIFIER.fullmatch(column):
                    raise SemanticError(
                        f"metric {metric}: time dimension {name!r} of {model.name}: expr "
                        f"{column!r} must be a column of the model (a day column), not SQL"
                    )
                return column
        raise SemanticError(
            f"metric {metric}: time dimension {name!r} is not a dimension of {model.name}"
        )

    @staticmethod
    def table(model: PydanticSemanticModel) -> str:
        """The relation to read: the dbt model's alias, unqualified (marts sit in the
        warehouse's default schema, as ARCHITECTURE.md says)."""
        return model.node_relation.alias
