"""dbt's semantic manifest -> the catalogue's metrics, checking what dbt does not.

dbt validates semantic models and metrics when it parses the project
(``dbt_parse.py``); this module reads the ``semantic_manifest.json`` it wrote with
dbt-semantic-interfaces' own pydantic objects (``PydanticSemanticManifest``) and makes one
:class:`Metric` per dbt metric:

- API name = dbt name with ``_`` written as ``-``; label = dbt ``label`` (else the name);
- entities = the registry's entities (user, device, client) that every semantic model the
  metric reads has: the endpoints that serve it;
- a simple, unfiltered metric over ``sum``/``count``/``count_distinct``/``min``/``max`` also
  carries its one aggregation (mart, time column, aggregation, expression): the columns
  the loader checks, and what makes it ``Metric.simple`` (0 in an empty bucket). Every
  metric's SQL comes from the semantic manifest (``metric_sql``).

What dbt lets through and Daybook refuses, naming the file, the metric and the nearest
valid name: a dimension, time dimension or entity inside ``filter:`` that the metric's
semantic model cannot reach (``{{ Dimension('device__platfrom') }}``), a measure or metric
that does not exist, a registry entity whose ``expr`` is not the registry's key, and a
metric none of whose semantic models has a served entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daybook.semantic.definitions import Entity, Metric
from daybook.semantic.errors import SemanticError, unknown_name

# dbt aggregations of a simple metric (``average`` is a number, so not one of them).
SIMPLE_AGGREGATIONS = {"sum", "count", "count_distinct", "min", "max"}
INTEGER_AGGREGATIONS = SIMPLE_AGGREGATIONS | {"sum_boolean"}
METRIC_TIME = "metric_time"
Where = Mapping[str, tuple[Path, str]]  # "metric:<dbt name>" / "semantic_model:<name>" -> place


def read_semantic_manifest(path: Path) -> Any:
    """dbt's ``semantic_manifest.json`` as a ``PydanticSemanticManifest``."""
    from dbt_semantic_interfaces.implementations.semantic_manifest import (
        PydanticSemanticManifest,
    )

    try:
        return PydanticSemanticManifest.parse_raw(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SemanticError(f"{path}: dbt semantic manifest not found") from None
    except (OSError, ValueError) as error:
        raise SemanticError(f"{path}: not a readable dbt semantic manifest ({error})") from None


def api_name(dbt_name: str) -> str:
    """``activity_count`` -> ``activity-count``."""
    return dbt_name.replace("_", "-")


def metrics_from_manifest(
    manifest: Any, entities: Mapping[str, Entity], where: Where, order: Iterable[str]
) -> dict[str, Metric]:
    """The served metrics of a semantic manifest, by API name, in ``order`` (dbt names in
    YAML order; metrics defined elsewhere follow in the manifest's order)."""
    models = {model.name: model for model in manifest.semantic_models}
    owner = {measure.name: model for model in models.values() for measure in model.measures}
    by_name = {metric.name: metric for metric in manifest.metrics}
    _check_entity_keys(models.values(), entities, where)
    ranked = [name for name in order if name in by_name]
    ranked += [name for name in by_name if name not in ranked]
    metrics: dict[str, Metric] = {}
    for name in ranked:
        metric = by_name[name]
        place = _place(where, f"metric:{name}", name)
        read = _semantic_models(metric, by_name, owner, place)
        _check_filters(metric, by_name, read, models, place)
        served = [e for e in entities if all(_has_entity(models[m], e) for m in read)]
        if not served:
            raise SemanticError(
                f"{place}: its semantic model{'s' if len(read) > 1 else ''} "
                f"({', '.join(read)}) {'have' if len(read) > 1 else 'has'} none of the "
                f"entities {', '.join(entities)}, so no endpoint could serve it"
            )
        try:
            metrics[api_name(name)] = _metric(metric, read, models, owner, served)
        except ValidationError as error:
            problem = error.errors()[0]
            key = ".".join(str(step) for step in problem["loc"])
            raise SemanticError(f"{place}.{key}: {problem['msg']}") from None
    return metrics


def _place(where: Where, key: str, name: str) -> str:
    if key in where:
        path, label = where[key]
        return f"{path}: {label}"
    return f"dbt project: {key.split(':')[0]} {name!r}"


def _has_entity(model: Any, entity: str) -> bool:
    return any(item.name == entity for item in model.entities) or model.primary_entity == entity


def _check_entity_keys(models: Iterable[Any], entities: Mapping[str, Entity], where: Where) -> None:
    """A registry entity's ``expr`` in a semantic model must be the registry's key column."""
    for model in models:
        for index, item in enumerate(model.entities):
            entity = entities.get(item.name)
            column = (item.expr or item.name).strip()
            if entity is not None and column != entity.key:
                place = _place(where, f"semantic_model:{model.name}", model.name)
                raise SemanticError(
                    f"{place}.entities[{index}] ({item.name}).expr: {column!r} is not the "
                    f"registry's key of {item.name!r} ({entity.key!r}, semantic/entities.yml)"
                )


def _semantic_models(metric: Any, metrics: Mapping[str, Any], owner: Mapping, place: str) -> list:
    """Names of the semantic models a metric reads (through its inputs), in first-use order."""
    found: dict[str, None] = {}
    for measure in metric.type_params.input_measures or []:
        if measure.name not in owner:
            raise SemanticError(
                f"{place}.type_params: unknown measure {unknown_name(measure.name, owner)}"
            )
        found.setdefault(owner[measure.name].name, None)
    refs = list(metric.type_params.metrics or [])
    refs += [ref for ref in (metric.type_params.numerator, metric.type_params.denominator) if ref]
    for ref in refs:
        if ref.name not in metrics:
            raise SemanticError(
                f"{place}.type_params: unknown metric {unknown_name(ref.name, metrics)}"
            )
        if ref.name != metric.name:
            for name in _semantic_models(metrics[ref.name], metrics, owner, place):
                found.setdefault(name, None)
    if not found:
        raise SemanticError(f"{place}.type_params: reads no measure")
    return list(found)


def _filters(metric: Any) -> list[tuple[str, str]]:
    """Every ``filter:`` template of a metric and of its inputs, with the YAML key holding
    it (``filter``, ``type_params.numerator.filter``, ...), so an error names that key."""
    params = metric.type_params
    holders = [
        ("filter", metric),
        ("type_params.measure.filter", params.measure),
        ("type_params.numerator.filter", params.numerator),
        ("type_params.denominator.filter", params.denominator),
        *(
            (f"type_params.metrics[{i}] ({item.name}).filter", item)
            for i, item in enumerate(params.metrics or [])
        ),
    ]
    return [
        (key, where.where_sql_template)
        for key, holder in holders
        if holder is not None and holder.filter is not None
        for where in holder.filter.where_filters
    ]


def reachable(read: Iterable[str], models: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(dimension names ``entity__dimension``, entity names) a filter on these semantic models
    may use: their own dimensions by each of their entities, and those of a semantic model
    one entity hop away whose primary entity is one of theirs; ``metric_time`` too."""
    dimensions, entity_names = {METRIC_TIME}, set()
    primary_of: dict[str, list[Any]] = {}
    for model in models.values():
        primaries = {e.name for e in model.entities if str(e.type.value) != "foreign"}
        primaries |= {model.primary_entity} if model.primary_entity else set()
        for name in primaries:
            primary_of.setdefault(name, []).append(model)
    for name in read:
        model = models[name]
        names = {e.name for e in model.entities} | (
            {model.primary_entity} if model.primary_entity else set()
        )
        entity_names |= names
        for entity in names:
            dimensions |= {f"{entity}__{d.name}" for d in model.dimensions}
            for other in primary_of.get(entity, []):
                dimensions |= {f"{entity}__{d.name}" for d in other.dimensions}
    return dimensions, entity_names


def _check_filters(
    metric: Any, metrics: Mapping[str, Any], read: list[str], models: Mapping, place: str
) -> None:
    """Every name a filter uses must be reachable from the metric's semantic models."""
    from dbt_semantic_interfaces.implementations.filters.where_filter import PydanticWhereFilter

    dimensions, entity_names = reachable(read, models)
    for key, template in _filters(metric):
        try:
            calls = PydanticWhereFilter(where_sql_template=template).call_parameter_sets(
                custom_granularity_names=()
            )
        except Exception as error:  # dsi raises its own parse errors, of several types
            raise SemanticError(f"{place}.{key}: cannot read {template!r} ({error})") from None
        # (what the name is, the name, the names it may be, where those come from)
        reach = f" (not a dimension of {', '.join(read)} or one entity away)"
        used = [
            ("dimension", _qualified(c.entity_path, c.dimension_reference.element_name))
            for c in calls.dimension_call_parameter_sets
        ] + [
            ("time dimension", _qualified(c.entity_path, c.time_dimension_reference.element_name))
            for c in calls.time_dimension_call_parameter_sets
        ]
        checks = [(kind, name, dimensions, reach) for kind, name in used]
        checks += [
            ("entity", c.entity_reference.element_name, entity_names, "")
            for c in calls.entity_call_parameter_sets
        ]
        checks += [
            ("metric", c.metric_reference.element_name, metrics, "")
            for c in calls.metric_call_parameter_sets
        ]
        for kind, name, known, where in checks:
            if name not in known:
                raise SemanticError(
                    f"{place}.{key}: unknown {kind} {unknown_name(name, known)} "
                    f"in {template!r}{where}"
                )


def _qualified(entity_path: Iterable[Any], name: str) -> str:
    return "__".join([*(entity.element_name for entity in entity_path), name])


def _time_column(model: Any, measure: Any | None) -> str:
    """The column of the agg time dimension (the measure's, else the model's default)."""
    name = getattr(measure, "agg_time_dimension", None) or (
        model.defaults.agg_time_dimension if model.defaults else None
    )
    for dimension in model.dimensions:
        if dimension.name == name:
            return (dimension.expr or dimension.name).strip()
    return name or ""


def _metric(
    metric: Any, read: list[str], models: Mapping, owner: Mapping, served: list[str]
) -> Metric:
    """The catalogue's :class:`Metric` for one dbt metric."""
    params = metric.type_params
    first = models[read[0]]
    measure = None
    if params.input_measures:
        name = params.input_measures[0].name
        measure = next(m for m in owner[name].measures if m.name == name)
    kind = str(metric.type.value)
    agg = str(measure.agg.value) if measure is not None else ""
    simple = (
        kind == "simple"
        and agg in SIMPLE_AGGREGATIONS
        and not _filters(metric)
        and params.measure is not None
        and not params.measure.join_to_timespine
        and params.measure.fill_nulls_with is None
    )
    expression = str(measure.expr or measure.name).strip() if measure is not None else None
    if simple:
        try:
            Metric.model_validate(
                {"name": "x", "label": "x", "description": "x", "model": "x", "time_column": "x",
                 "aggregation": agg, "expression": expression, "entities": ["x"]}
            )  # fmt: skip
        except ValidationError:
            simple = False  # the whitelist refuses it: metric_sql's load check says why
    integer = kind == "simple" and agg in INTEGER_AGGREGATIONS
    if kind == "cumulative":
        period_agg = getattr(params.cumulative_type_params, "period_agg", None)
        integer = (
            agg in INTEGER_AGGREGATIONS and str(getattr(period_agg, "value", "first")) != "average"
        )
    return Metric(
        name=api_name(metric.name),
        label=(metric.label or metric.name).strip(),
        description=(metric.description or metric.label or metric.name).strip(),
        model=first.node_relation.alias,
        time_column=_time_column(first, measure),
        aggregation=agg if simple else None,
        expression=expression if simple else None,
        entities=tuple(served),
        dbt_name=metric.name,
        type=kind,
        semantic_model=",".join(read),
        measures=tuple(m.name for m in params.input_measures or []),
        dimensions=tuple(d.name for name in read for d in models[name].dimensions),
        filters=tuple(template for _, template in _filters(metric)),
        value_type="integer" if integer else "number",
    )
