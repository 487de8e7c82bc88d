"""The suite files in ``expectations/``: their schema, loading and SQL rendering.

A suite file is YAML a data engineer reviews in a pull request. It names the
suite, and lists *batches*: a SQL query over the warehouse (usually a small
view that pushes the heavy work into the database) and the Great
Expectations expectations to evaluate on it, each with a Daybook severity.
Mart names come from the semantic registry (``semantic/entities.yml``,
:meth:`daybook.semantic.registry.Registry.relations`): ``${activity}``,
``${tenant}``, ``${quarantine}``, ``${user_daily}``, and ``${dimension_keys}``
(every dimension's keys, as one relation). A batch with ``for_each: entity``
is a template, repeated for every entity with a dense daily mart, with
``${entity}``, ``${entity_key}``, ``${tenant_key}``, ``${entity_dimension}``,
``${entity_daily}`` and ``${other_entity_counts}`` filled in; so a new entity
is checked, and a renamed mart found, with no edit here or in the suites.
``${measure_problems}``, ``${sum_of_sources}``, ``${measure_sums}`` and the other
``MEASURE_FRAGMENTS`` spell out the marts' measures (the raw contract's counts,
``daybook.raw_schema``, and the heartbeat count), so no suite lists them.
``settings.yml`` beside the suites holds the tunable thresholds
(``${max_duplicate_share}``) and any other relation names.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any, Literal
from zoneinfo import available_timezones

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daybook.config import project_dir
from daybook.raw_schema import SOURCE_COUNT_COLUMNS
from daybook.semantic.registry import Registry

Severity = Literal["error", "warning"]
# What an aggregate expectation's observed number counts (the report prints it after the
# number); a share is a fraction of rows, printed as a percentage.
Unit = Literal["rows", "heartbeats", "share"]
SETTINGS_FILE = "settings.yml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Parameter values reach SQL text, so only plain numbers and quote-free strings are allowed.
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.:\- ]*$")


class SuiteFileError(ValueError):
    """A suite or settings file in ``expectations/`` is malformed."""


class ExpectationSpec(BaseModel):
    """One Great Expectations expectation plus the Daybook fields around it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Severity
    description: str
    reason: str | None = None
    unit: Unit | None = None
    # another expectation of the suite whose observed value is the number of rows this
    # one's count is out of (the report prints and ranks by the share)
    out_of: str | None = None

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"expectation name {value!r} must be snake_case")
        return value


class BatchSpec(BaseModel):
    """A query whose (small) result Great Expectations validates.

    ``for_each: entity`` marks a template, expanded by :func:`load_suites`.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    for_each: Literal["entity"] | None = None
    description: str
    query: str
    expectations: list[ExpectationSpec]


class SuiteSpec(BaseModel):
    """One suite file."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    description: str
    batches: list[BatchSpec]
    source: Path | None = None

    def expectation_names(self) -> list[str]:
        return [spec.name for batch in self.batches for spec in batch.expectations]


class Settings(BaseModel):
    """``settings.yml``: relation names and thresholds shared by the suites."""

    model_config = ConfigDict(extra="forbid")

    relations: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, float | int | str] = Field(default_factory=dict)

    @field_validator("relations")
    @classmethod
    def _identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        for key, relation in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", relation):
                raise ValueError(f"relation {key}={relation!r} is not a (schema.)name")
        return value

    @field_validator("parameters")
    @classmethod
    def _plain_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if isinstance(item, str) and not _SAFE_TEXT.fullmatch(item):
                raise ValueError(f"parameter {key}={item!r} may hold only letters, digits, .:_-")
        return value


def expectations_dir() -> Path:
    """The folder holding the suite files."""
    return project_dir() / "expectations"


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteFileError(f"{path.name}: cannot read YAML: {exc}") from None


def default_registry() -> Registry:
    """The registry of the project's ``semantic/`` (``DAYBOOK_SEMANTIC_DIR`` if set)."""
    from daybook.semantic.loader import load_registry

    return load_registry()


def registry_relations(registry: Registry) -> dict[str, str]:
    """The registry's mart names by placeholder, plus ``dimension_keys``: a derived table
    of (dimension, entity_key) over every dimension, keys as text."""
    keys = " union all ".join(
        f"select '{model}' as dimension, cast({key} as varchar) as entity_key from {model}"
        for model, key in registry.dimensions()
    )
    return {**registry.relations(), "dimension_keys": f"({keys}) as dimension_keys"}


# SQL fragments repeated for each entity a dense daily mart counts (``{count}``, e.g.
# ``device_count``, the distinct ``{key}`` values of the activity fact that day): a suite
# cannot loop, and the counted entities come from the registry.
_COUNTED = {
    # the smallest measure (least(...)), a missing count counting as -1
    "other_entity_counts": ", coalesce({count}, -1)",
    # appended to a text listing missing or negative measures (', name value')
    "other_entity_count_problems": (
        " || case when {count} is null or {count} < 0"
        " then ', {count} ' || coalesce(cast({count} as varchar), 'null') else '' end"
    ),
    # ${activity} summed per entity and day: the distinct counts of the others
    "other_entity_distinct_counts": ",\n    count(distinct {key}) as {count}",
    # appended to a text listing the differences of `dense` from `expected` that day
    "other_entity_count_differences": (
        " || case when dense.{count} is distinct from coalesce(expected.{count}, 0)"
        " then ', {count} ' || coalesce(cast(dense.{count} as varchar), 'null')"
        " || ' instead of ' || cast(coalesce(expected.{count}, 0) as varchar) else '' end"
    ),
}


# The measures every activity mart carries: the heartbeat's counts summed (five sources,
# then their total, as raw delivers them) and how many heartbeats were summed.
HEARTBEAT_COUNTS = (*SOURCE_COUNT_COLUMNS, "total_activity_count")
MART_MEASURES = (*HEARTBEAT_COUNTS, "heartbeat_count")


def _measure_differences(left: str, right: str) -> str:
    """Text listing each measure of ``left`` (an alias) that differs from ``right`` (an
    expression of ``{m}``), as ', name value instead of expected'."""
    return "\n    || ".join(
        f"case when {left}.{m} is distinct from {right.format(m=m)}"
        f" then ', {m} ' || coalesce(cast({left}.{m} as varchar), 'null')"
        f" || ' instead of ' || cast({right.format(m=m)} as varchar) else '' end"
        for m in MART_MEASURES
    )


# SQL fragments over the measures, so no suite lists them (a measure added to the marts
# is checked everywhere by one edit here)
MEASURE_FRAGMENTS = {
    # text listing the measures that are missing or negative (', name value' each)
    "measure_problems": "\n    || ".join(
        f"case when {m} is null or {m} < 0"
        f" then ', {m} ' || coalesce(cast({m} as varchar), 'null') else '' end"
        for m in MART_MEASURES
    ),
    # what total_activity_count must equal
    "sum_of_sources": " + ".join(SOURCE_COUNT_COLUMNS),
    # a mart's measures summed over a group
    "measure_sums": ",\n    ".join(f"sum({m}) as {m}" for m in MART_MEASURES),
    # heartbeats' counts summed over a group (as bigint: raw keeps them as doubles), and
    # the heartbeats counted: a mart's measures of that group
    "heartbeat_measure_sums": ",\n    ".join(
        [f"sum(cast({m} as bigint)) as {m}" for m in HEARTBEAT_COUNTS]
        + ["count(*) as heartbeat_count"]
    ),
    # the measures of `mart` that differ from those of `valid`
    "measure_differences_from_valid": _measure_differences("mart", "valid.{m}"),
    # the measures of `dense` that differ from those of `expected` (none there: zero)
    "measure_differences_from_expected": _measure_differences("dense", "coalesce(expected.{m}, 0)"),
}


def entity_values(registry: Registry, entity_name: str) -> dict[str, str]:
    """What a ``for_each: entity`` template is filled with for one entity."""
    entity = registry.entities[entity_name]
    counts = registry.counted_entities(entity)
    values = {
        "entity": entity.name,
        "entity_key": entity.key,
        "tenant_key": entity.tenant_key,
        "entity_dimension": entity.model,
        "entity_daily": entity.daily_model or "",
    }
    for name, fragment in _COUNTED.items():
        values[name] = "".join(fragment.format(count=f"{o.name}_count", key=o.key) for o in counts)
    return values


def load_settings(folder: Path | None = None, registry: Registry | None = None) -> Settings:
    """``settings.yml``, its relations completed with the registry's mart names."""
    path = (folder or expectations_dir()) / SETTINGS_FILE
    try:
        settings = Settings.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise SuiteFileError(f"{path.name}: {exc}") from None
    derived = registry_relations(registry or default_registry())
    twice = sorted(set(derived) & set(settings.relations))
    if twice:
        raise SuiteFileError(
            f"{path.name}: relations {twice} are named by semantic/entities.yml already"
        )
    return settings.model_copy(update={"relations": {**derived, **settings.relations}})


def _substitute(node: Any, values: dict[str, str]) -> Any:
    """``node`` (parsed YAML) with the ``${name}`` placeholders of ``values`` filled in;
    other placeholders (thresholds, run-time values) are left for :func:`render_query`."""
    # each value escaped as JSON string content: a fragment may hold quotes or newlines
    escaped = {key: json.dumps(value)[1:-1] for key, value in values.items()}
    return json.loads(Template(json.dumps(node)).safe_substitute(escaped))


def _expand(data: Any, registry: Registry | None) -> Any:
    """A suite's raw YAML with its mart names filled in and ``for_each`` batches repeated."""
    if not isinstance(data, dict) or not isinstance(data.get("batches"), list):
        return data
    if registry is None:
        if not any(isinstance(b, dict) and "${" in json.dumps(b) for b in data["batches"]):
            return data  # nothing to fill: no need to read semantic/
        registry = default_registry()
    relations = {**registry_relations(registry), **MEASURE_FRAGMENTS}
    batches = []
    for batch in data["batches"]:
        if isinstance(batch, dict) and batch.get("for_each") == "entity":
            template = {key: value for key, value in batch.items() if key != "for_each"}
            for entity in registry.entities.values():
                if entity.daily_model is not None:
                    values = {**relations, **entity_values(registry, entity.name)}
                    batches.append(_substitute(template, values))
        else:
            batches.append(_substitute(batch, relations))
    return {**data, "batches": batches}


def load_suites(folder: Path | None = None, registry: Registry | None = None) -> list[SuiteSpec]:
    """Every ``*.yml`` suite in ``folder`` (settings excluded), sorted by file name, with
    mart names from ``registry`` (default: the project's ``semantic/``) and templates
    expanded."""
    folder = folder or expectations_dir()
    suites = []
    for path in sorted(folder.glob("*.yml")):
        if path.name == SETTINGS_FILE:
            continue
        try:
            suite = SuiteSpec.model_validate(_expand(_read_yaml(path), registry))
        except ValidationError as exc:
            raise SuiteFileError(f"{path.name}: {exc}") from None
        names = suite.expectation_names()
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise SuiteFileError(f"{path.name}: duplicate expectation names {duplicates}")
        unknown = sorted(
            {
                spec.out_of
                for batch in suite.batches
                for spec in batch.expectations
                if spec.out_of is not None and spec.out_of not in names
            }
        )
        if unknown:
            raise SuiteFileError(
                f"{path.name}: out_of names no expectation of the suite: {unknown}"
            )
        suites.append(suite.model_copy(update={"source": path}))
    if not suites:
        raise SuiteFileError(f"no suite files found in {folder}")
    return suites


def runtime_parameters(
    settings: Settings, now: datetime | None = None, backend: str | None = None
) -> dict[str, Any]:
    """Settings parameters plus the values computed at run time.

    ``latest_plausible_utc`` is now plus ``future_tolerance_hours``;
    ``iana_time_zones`` is the set Python's ``zoneinfo`` knows, the same
    database dbt's time-zone conversion relies on being valid, less ``localtime`` (this
    machine's own zone file, not a name of the database; the build refuses it too).
    ``id_collation`` follows an id column a query sorts by, so ids sort as dbt sorts them
    (byte order: dbt's ``raw_id`` gives them collation "C" on PostgreSQL; DuckDB and
    Spark compare bytes already).
    """
    now = now or datetime.now(UTC)
    params: dict[str, Any] = dict(settings.parameters)
    tolerance = float(params.get("future_tolerance_hours", 24))
    latest = now.replace(tzinfo=None) + timedelta(hours=tolerance)
    params["latest_plausible_utc"] = latest.strftime("%Y-%m-%d %H:%M:%S")
    params["iana_time_zones"] = sorted(available_timezones() - {"localtime"})
    params["id_collation"] = ' collate "C"' if backend == "postgres" else ""
    return params


def render_query(query: str, settings: Settings, params: dict[str, Any]) -> str:
    """Substitute ``${relation}`` and ``${parameter}`` names; an unknown name is an error.

    A list parameter becomes SQL string literals separated by commas, for ``in (...)``
    (``iana_time_zones``: the queries count heartbeat rows of clients whose zone is not
    in it, which an expectation over the values of a column could count only per zone).
    """
    values = {**settings.relations}
    for key, value in params.items():
        if isinstance(value, list):
            values[key] = ", ".join("'" + str(item).replace("'", "''") + "'" for item in value)
        else:
            values[key] = str(value)
    try:
        return Template(query).substitute(values)
    except (KeyError, ValueError) as exc:
        raise SuiteFileError(f"query uses an unknown or malformed placeholder: {exc}") from None
