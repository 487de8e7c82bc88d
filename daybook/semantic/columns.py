"""Every model and column the semantic layer names must be a documented column of a dbt
model: the checks of ``loader.py`` against a dbt ``manifest.json``.

A metric therefore cannot point at a column dbt does not build and describe; errors name
the YAML file, the key and the nearest documented column.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from daybook.semantic.definitions import Entity, Mart, Metric, Tenant
from daybook.semantic.errors import SemanticError, unknown_name
from daybook.semantic.expressions import parse_expression, referenced_columns
from daybook.semantic.registry import ACTIVITY

Check = tuple[str, str, list[tuple[str, str]]]  # (where key, model, [(yaml key, column)])


def manifest_checks(
    tenant: Tenant | None,
    entities: dict[str, Entity],
    marts: dict[str, Mart],
    metrics: dict[str, Metric],
) -> list[Check]:
    """Every (model, column) the definitions name, with the YAML key that names it."""
    checks: list[Check] = []
    if tenant is not None:
        checks.append(("tenant:" + tenant.name, tenant.model, [("key", tenant.key)]))
    for name, mart in marts.items():
        columns = [("grain", column) for column in mart.grain]
        if mart.time_column is not None:
            columns.append(("time_column", mart.time_column))
        checks.append(("mart:" + name, mart.model, columns))
    day = marts[ACTIVITY].time_column if ACTIVITY in marts else None
    for name, entity in entities.items():
        keys = [("key", entity.key), ("tenant_key", entity.tenant_key)]
        shown = [("display_columns", column) for column in entity.display_columns]
        checks.append(("entity:" + name, entity.model, keys + shown))
        if entity.daily_model is not None and day is not None:
            checks.append(("entity:" + name, entity.daily_model, [*keys, ("daily_model", day)]))
    for name, metric in metrics.items():
        columns = [("agg_time_dimension", metric.time_column)]
        columns += [("measure expr", column) for column in metric.columns[1:]]
        for entity_name in metric.entities:
            entity = entities[entity_name]
            columns += [("entities", entity.key), ("entities", entity.tenant_key)]
        checks.append(("metric:" + name, metric.model, columns))
    return checks


def dimension_checks(semantic_models: Iterable[Any]) -> list[Check]:
    """The columns each dbt semantic model's dimensions read (a column, or those of its
    ``expr``): a misspelt one would otherwise reach the warehouse from a ``filter:`` and
    fail every request. An ``expr`` that is not a valid expression is left to the
    compiler, which refuses it by name where a filter uses it."""
    checks: list[Check] = []
    for model in semantic_models:
        columns: list[tuple[str, str]] = []
        for dimension in model.dimensions:
            try:
                tree = parse_expression(dimension.expr or dimension.name)
            except ValueError:
                continue
            label = f"dimensions ({dimension.name}).expr"
            columns += [(label, column) for column in referenced_columns(tree)]
        checks.append((f"dbt_semantic_model:{model.name}", model.node_relation.alias, columns))
    return checks


def check_against_manifest(
    models: dict[str, frozenset[str]],
    manifest: Path,
    checks: list[Check],
    where: dict[str, tuple[Path, str]],
) -> None:
    """Every model and column named must be a documented column of a model in the manifest."""
    for key, model, columns in checks:
        path, label = where[key]
        if model not in models:
            raise SemanticError(
                f"{path}: {label}.model: unknown model {unknown_name(model, models)}"
                f" (not a model in {manifest})"
            )
        for field_name, column in columns:
            if column.lower() not in models[model]:
                raise SemanticError(
                    f"{path}: {label}.{field_name}: unknown column "
                    f"{unknown_name(column, models[model])} of model {model!r}"
                    f" (not a documented column in {manifest})"
                )
