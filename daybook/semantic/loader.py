"""Reading ``semantic/`` into a validated ``Catalog``, failing early with file and key.

Two sources: the registry (``semantic/entities.yml``: tenant, entities, shared marts;
Daybook's format, read here) and the metrics (dbt's ``semantic_models:`` and ``metrics:``,
read from the semantic manifest dbt writes: ``dbt_parse.py`` finds or makes it,
``dbt_metrics.py`` turns it into metrics). The API and CLI call ``load_catalog`` at
start-up, so a broken definition stops the process with a message like
``semantic/metrics/core.yml: metrics[0] (activity_count).filter: unknown dimension
'device__platfrom' (did you mean 'device__platform'?)`` instead of a wrong number later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from daybook.config import project_dir
from daybook.semantic.catalog import Catalog
from daybook.semantic.columns import check_against_manifest, dimension_checks, manifest_checks
from daybook.semantic.dbt_metrics import metrics_from_manifest, read_semantic_manifest
from daybook.semantic.dbt_parse import semantic_manifest_for
from daybook.semantic.definitions import DBT_KEYS, Entity, Mart, Metric, SemanticFile, Tenant
from daybook.semantic.errors import SemanticError, unknown_name
from daybook.semantic.manifest import dbt_manifest, default_manifest_path
from daybook.semantic.registry import ACTIVITY, Registry

if TYPE_CHECKING:
    from daybook.semantic.metric_sql.types import ColumnTypes

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
    semantic_manifest: Path | None = None,
) -> Catalog:
    """The registry and dbt's metrics of ``semantic_dir``, validated.

    ``semantic_manifest``: dbt's ``semantic_manifest.json`` to read (default: the one
    ``dbt_parse.semantic_manifest_for`` finds or makes for ``semantic_dir``). With a dbt
    manifest (``manifest_path``, else the one beside the semantic manifest, else
    ``default_manifest_path``), every model and column named must be a documented column
    of a dbt model. Raises ``SemanticError`` naming the file and key of the first problem.
    ``check_manifest=False`` skips the column checks (callers that check the warehouse).
    """
    folder, scan = _scan(semantic_dir)
    source = semantic_manifest if semantic_manifest is not None else semantic_manifest_for(folder)
    dbt_order = [key.split(":", 1)[1] for key in scan.where if key.startswith("dbt_metric:")]
    dbt_where = {
        key.removeprefix("dbt_"): place
        for key, place in scan.where.items()
        if key.startswith("dbt_")
    }
    manifest = manifest_path
    if manifest is None:
        beside = Path(source).with_name("manifest.json")
        manifest = beside if beside.is_file() else default_manifest_path()
    models = dbt_manifest(manifest) if manifest is not None and check_manifest else None
    parsed = read_semantic_manifest(source)
    metrics = metrics_from_manifest(parsed, scan.entities, dbt_where, dbt_order)
    types = models.column_types() if models is not None else {}
    metrics = _checked_by_compiler(metrics, parsed, scan, dbt_where, types)
    where = dict(scan.where)
    for metric in metrics.values():
        key = f"dbt_metric:{metric.dbt_name}"
        where[f"metric:{metric.name}"] = where.get(key, (source, f"metric {metric.dbt_name!r}"))
    if models is not None:
        checks = manifest_checks(scan.tenant, scan.entities, scan.marts, metrics)
        checks += dimension_checks(parsed.semantic_models)
        check_against_manifest(models.documented_columns(), manifest, checks, where)
    sources = {key: path for key, (path, _) in where.items() if not key.startswith("dbt_")}
    return Catalog(
        entities=scan.entities,
        metrics=metrics,
        sources=sources,
        tenant=scan.tenant,
        marts=scan.marts,
        semantic_manifest=parsed,
    )


def _checked_by_compiler(
    metrics: dict[str, Metric],
    parsed: object,
    scan: _Scan,
    where: dict[str, tuple[Path, str]],
    column_types: ColumnTypes,
) -> dict[str, Metric]:
    """Every metric resolved and rendered once now by the compiler, ``metric_sql``
    (``check_metric``), so a definition it cannot compile (a measure's
    ``non_additive_dimension``, say) fails at load naming the file, not at a request; and,
    with the dbt contracts' ``column_types``, one whose types a warehouse would refuse
    (``check_types``: a sum over a text column, text compared with a number). A
    simple metric keeps the registry's entities (its one mart carries their keys and the
    tenant key, ``columns.py`` checks them); any other metric's entities are those it can
    scope itself (every semantic model it reads has the tenant entity)."""
    from daybook.semantic.metric_sql import ManifestView, check_metric, metric_entities
    from daybook.semantic.metric_sql.types import check_types

    tenant = next((e.name for e in scan.entities.values() if e.key == e.tenant_key), "client")
    keys = {e.name: e.key for e in scan.entities.values()}
    view = ManifestView(parsed, tenant_entity=tenant, registry_keys=keys)  # type: ignore[arg-type]
    checked = dict(metrics)
    for name, metric in metrics.items():
        path, label = where.get(f"metric:{metric.dbt_name}", ("dbt project", f"metric {name}"))
        try:
            check_metric(view, metric.dbt_name)
            check_types(view, metric.dbt_name, column_types)
            if metric.simple:
                continue
            allowed = set(metric_entities(view, metric.dbt_name))
        except SemanticError as error:
            raise SemanticError(f"{path}: {label}: {error}") from None
        entities = tuple(entity for entity in metric.entities if entity in allowed)
        if not entities:
            raise SemanticError(
                f"{path}: {label}: every semantic model it reads needs the {tenant!r} entity"
            )
        checked[name] = metric.model_copy(update={"entities": entities})
    return checked


def load_registry(
    semantic_dir: Path | None = None,
    manifest_path: Path | None = None,
    *,
    check_manifest: bool = True,
) -> Registry:
    """The registry of ``semantic/`` (tenant, entities, marts), validated like ``load_catalog``
    but without dbt's metrics (so without a ``dbt parse``)."""
    _, scan = _scan(semantic_dir)
    manifest = manifest_path if manifest_path is not None else default_manifest_path()
    if manifest is not None and check_manifest:
        checks = manifest_checks(scan.tenant, scan.entities, scan.marts, {})
        check_against_manifest(
            dbt_manifest(manifest).documented_columns(), manifest, checks, scan.where
        )
    return Registry(tenant=scan.tenant, entities=scan.entities, marts=scan.marts)


@dataclass
class _Scan:
    """What the YAML files say, before dbt: the registry, and where each name is defined."""

    entities: dict[str, Entity] = field(default_factory=dict)
    marts: dict[str, Mart] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    # "entity:user" / "dbt_metric:activity_count" -> (file, "metrics[0] (activity_count)")
    where: dict[str, tuple[Path, str]] = field(default_factory=dict)

    @property
    def tenant(self) -> Tenant | None:
        return next(iter(self.tenants.values()), None)


def _scan(semantic_dir: Path | None) -> tuple[Path, _Scan]:
    """Read every ``*.yml``/``*.yaml`` under the folder (sorted by path): the registry keys,
    checked, and the place of each dbt metric and semantic model (for messages and order)."""
    folder = Path(semantic_dir) if semantic_dir is not None else default_semantic_dir()
    if not folder.is_dir():
        raise SemanticError(f"{folder}: semantic directory not found")
    files = sorted(
        (p for p in folder.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    if not files:
        raise SemanticError(f"{folder}: no .yml files with entities or metrics")
    scan = _Scan()
    where = scan.where
    for path in files:
        parsed, dbt_names = _parse_file(path)
        for key, label in dbt_names:
            where.setdefault(key, (path, label))
        for kind, section, items, found in (
            ("tenant", "tenant", [parsed.tenant] if parsed.tenant else [], scan.tenants),
            ("entity", "entities", parsed.entities, scan.entities),
            ("mart", "marts", parsed.marts, scan.marts),
        ):
            for index, item in enumerate(items):
                key = f"{kind}:{item.name}"
                label = (
                    f"tenant ({item.name})"
                    if kind == "tenant"
                    else f"{section}[{index}] ({item.name})"
                )
                if kind == "tenant" and scan.tenants:
                    first = where[f"tenant:{next(iter(scan.tenants))}"][0]
                    raise SemanticError(f"{path}: tenant: declared twice (first in {first})")
                if key in where:
                    raise SemanticError(
                        f"{path}: {label}.name: duplicate {kind} {item.name!r} "
                        f"(first defined in {where[key][0]})"
                    )
                found[item.name] = item
                where[key] = (path, label)
    _check_registry(scan.tenant, scan.entities, scan.marts, where)
    return folder, scan


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


def _parse_file(path: Path) -> tuple[SemanticFile, list[tuple[str, str]]]:
    """The registry part of one file, and ``("dbt_metric:<name>", "metrics[i] (<name>)")``
    places of its dbt metrics and semantic models."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SemanticError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return SemanticFile(), []
    if not isinstance(data, dict):
        raise SemanticError(
            f"{path}: expected a mapping with 'entities', 'semantic_models' and/or 'metrics' keys"
        )
    names = []
    for section, kind in (("metrics", "dbt_metric"), ("semantic_models", "dbt_semantic_model")):
        items = data.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append((f"{kind}:{item['name']}", f"{section}[{index}] ({item['name']})"))
    registry = {key: value for key, value in data.items() if key not in DBT_KEYS}
    try:
        return SemanticFile.model_validate(registry), names
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
        unknown = unknown_name(str(loc[-1]), allowed)
        return f"{key}: unknown key {unknown} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"{key}: required key is missing"
    message = problem["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    section = loc[0] if len(loc) > 2 else None
    if loc and loc[0] == "tenant" and len(loc) > 1:
        return list(Tenant.model_fields)
    model = {"entities": Entity, "marts": Mart}.get(str(section), SemanticFile)
    if model is SemanticFile:
        return [*model.model_fields, *sorted(DBT_KEYS)]
    return list(model.model_fields)
