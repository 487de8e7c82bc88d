"""Reading ``semantic/*.yml`` into a validated ``Catalog``, failing early with file and key.

The API and CLI call ``load_catalog`` at start-up, so a broken definition
stops the process with a message like
``semantic/metrics/core.yml: metrics[1] (user-count).aggregation: unsupported aggregation 'median'``
instead of a wrong number later.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from daybook.config import project_dir
from daybook.semantic.catalog import Catalog
from daybook.semantic.definitions import Entity, Mart, Metric, SemanticFile, Tenant
from daybook.semantic.errors import SemanticError
from daybook.semantic.manifest import default_manifest_path, documented_models
from daybook.semantic.registry import ACTIVITY, Registry

ENV_SEMANTIC_DIR = "DAYBOOK_SEMANTIC_DIR"


def default_semantic_dir() -> Path:
    """``DAYBOOK_SEMANTIC_DIR`` if set, else ``semantic/`` in the project checkout."""
    override = os.environ.get(ENV_SEMANTIC_DIR)
    return Path(override) if override else project_dir() / "semantic"


def load_catalog(
    semantic_dir: Path | None = None,
    manifest_path: Path | None = None,
    *,
    check_manifest: bool = True,
) -> Catalog:
    """Load and validate every ``*.yml``/``*.yaml`` under ``semantic_dir`` (sorted by path).

    With a dbt manifest (given, or found by ``default_manifest_path``), every
    model and column a definition names must be a documented column of a dbt
    model. Raises ``SemanticError`` naming the file and key of the first
    problem file's problems. ``check_manifest=False`` checks the definitions alone
    (for callers that check the warehouse itself, such as publishing a snapshot).
    """
    folder = Path(semantic_dir) if semantic_dir is not None else default_semantic_dir()
    if not folder.is_dir():
        raise SemanticError(f"{folder}: semantic directory not found")
    files = sorted(
        (p for p in folder.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    if not files:
        raise SemanticError(f"{folder}: no .yml files with entities or metrics")

    entities: dict[str, Entity] = {}
    metrics: dict[str, Metric] = {}
    marts: dict[str, Mart] = {}
    tenants: dict[str, Tenant] = {}
    # "entity:user" / "metric:activity-count" -> (file, "metrics[0] (activity-count)")
    where: dict[str, tuple[Path, str]] = {}
    for path in files:
        parsed = _parse_file(path)
        for kind, section, items, found in (
            ("tenant", "tenant", [parsed.tenant] if parsed.tenant else [], tenants),
            ("entity", "entities", parsed.entities, entities),
            ("mart", "marts", parsed.marts, marts),
            ("metric", "metrics", parsed.metrics, metrics),
        ):
            for index, item in enumerate(items):
                key = f"{kind}:{item.name}"
                label = (
                    f"tenant ({item.name})"
                    if kind == "tenant"
                    else f"{section}[{index}] ({item.name})"
                )
                if kind == "tenant" and tenants:
                    first = where[f"tenant:{next(iter(tenants))}"][0]
                    raise SemanticError(f"{path}: tenant: declared twice (first in {first})")
                if key in where:
                    raise SemanticError(
                        f"{path}: {label}.name: duplicate {kind} {item.name!r} "
                        f"(first defined in {where[key][0]})"
                    )
                found[item.name] = item
                where[key] = (path, label)

    for name, metric in metrics.items():
        for entity_name in metric.entities:
            if entity_name not in entities:
                path, label = where["metric:" + name]
                raise SemanticError(
                    f"{path}: {label}.entities: unknown entity"
                    f"{_suggest(entity_name, entities)}; defined: {', '.join(entities) or 'none'}"
                )
    tenant = next(iter(tenants.values()), None)
    _check_registry(tenant, entities, marts, where)

    manifest = manifest_path if manifest_path is not None else default_manifest_path()
    if manifest is not None and check_manifest:
        checks = _manifest_checks(tenant, entities, marts, metrics)
        _check_against_manifest(documented_models(manifest), manifest, checks, where)
    sources = {key: path for key, (path, _) in where.items()}
    return Catalog(entities=entities, metrics=metrics, sources=sources, tenant=tenant, marts=marts)


def load_registry(
    semantic_dir: Path | None = None,
    manifest_path: Path | None = None,
    *,
    check_manifest: bool = True,
) -> Registry:
    """The registry of ``semantic/`` (tenant, entities, marts), validated like ``load_catalog``."""
    return load_catalog(semantic_dir, manifest_path, check_manifest=check_manifest).registry


def _check_registry(
    tenant: Tenant | None,
    entities: dict[str, Entity],
    marts: dict[str, Mart],
    where: dict[str, tuple[Path, str]],
) -> None:
    """Rules across the tenant, entities and marts (each file is already valid alone)."""
    activity = marts.get(ACTIVITY)
    for name, entity in entities.items():
        path, label = where["entity:" + name]
        if tenant is not None and entity.tenant_key != tenant.key:
            raise SemanticError(
                f"{path}: {label}.tenant_key: {entity.tenant_key!r} is not the key of the "
                f"tenant {tenant.name!r} ({tenant.key!r})"
            )
        if entity.daily_model is not None and (activity is None or activity.time_column is None):
            raise SemanticError(
                f"{path}: {label}.daily_model: needs a shared mart {ACTIVITY!r} with a "
                "time_column (the day column of every dense daily mart)"
            )
    for name, mart in marts.items():
        path, label = where["mart:" + name]
        if mart.kind == "dimension" and len(mart.grain) != 1:
            raise SemanticError(f"{path}: {label}.grain: a dimension has one key column")


def _parse_file(path: Path) -> SemanticFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SemanticError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return SemanticFile()
    if not isinstance(data, dict):
        raise SemanticError(f"{path}: expected a mapping with 'entities' and/or 'metrics' keys")
    try:
        return SemanticFile.model_validate(data)
    except ValidationError as error:
        problems = [_describe(problem, data) for problem in error.errors()]
        raise SemanticError("\n".join(f"{path}: {problem}" for problem in problems)) from None


def _describe(problem: dict[str, Any], data: dict[str, Any]) -> str:
    """``metrics[1] (user-count).aggregation: <why>`` for one pydantic error."""
    loc = problem["loc"]
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int):
            parts[-1] += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                parts[-1] += f" ({node['name']})"
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    key = ".".join(parts) or "(top level)"
    kind = problem["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return (
            f"{key}: unknown key{_suggest(str(loc[-1]), allowed)} (allowed: {', '.join(allowed)})"
        )
    if kind == "missing":
        return f"{key}: required key is missing"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    section = loc[0] if len(loc) > 2 else None
    if loc and loc[0] == "tenant" and len(loc) > 1:
        return list(Tenant.model_fields)
    model = {"entities": Entity, "marts": Mart, "metrics": Metric}.get(str(section), SemanticFile)
    return list(model.model_fields)


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" {word!r} (did you mean {close[0]!r}?)" if close else f" {word!r}"


Check = tuple[str, str, list[tuple[str, str]]]  # (where key, model, [(yaml key, column)])


def _manifest_checks(
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
        columns = [("time_column", metric.time_column)]
        columns += [("expression", column) for column in metric.columns[1:]]
        for entity_name in metric.entities:
            entity = entities[entity_name]
            columns += [("entities", entity.key), ("entities", entity.tenant_key)]
        checks.append(("metric:" + name, metric.model, columns))
    return checks


def _check_against_manifest(
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
                f"{path}: {label}.model: unknown model{_suggest(model, models)}"
                f" (not a model in {manifest})"
            )
        for field_name, column in columns:
            if column.lower() not in models[model]:
                raise SemanticError(
                    f"{path}: {label}.{field_name}: unknown column"
                    f"{_suggest(column, models[model])} of model {model!r}"
                    f" (not a documented column in {manifest})"
                )
