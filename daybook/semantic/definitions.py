"""Daybook's side of ``semantic/``: the registry's YAML (tenant, entities, shared marts) and
the metric as the catalogue serves it.

The registry (``semantic/entities.yml``) is Daybook's own format: every key is declared
here with ``extra="forbid"``, so a typo in a key is an error at start-up rather than a
silently ignored setting. Metrics are written in dbt's spec and read from dbt's semantic
manifest (``dbt_metrics.py``); :class:`Metric` is what one becomes: its API name, label,
entities, semantic model, and, for a simple metric, the one aggregation over one mart it
is (what the column checks read, and what makes it *simple*: 0 in an empty bucket).
Every metric compiles from dbt's manifest (``metric_sql``), not from these fields.
Cross-file rules live in ``loader.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator
from sqlglot import exp

from daybook.semantic.expressions import parse_expression, referenced_columns

Aggregation = Literal["sum", "count", "count_distinct", "min", "max", "average"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
# Metric names appear in URLs and CLI flags: lowercase words joined by hyphens.
MetricName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64)]
EntityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# Identifiers reach SQL, so they are plain names only (no quoting, no schema).
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class Entity(BaseModel):
    """Something a metric is asked about (a user, a device): its marts, key and tenant key.

    ``model`` is its dimension mart (whether an id exists, what the directory
    lists); ``daily_model`` its dense daily fact (served and checked, optional
    for an entity whose metrics read other marts); ``display_columns`` the text
    columns the directory shows and searches besides the key (the first one
    orders the listing).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: EntityName
    label: Text
    model: Identifier
    key: Identifier
    tenant_key: Identifier
    description: str = ""
    daily_model: Identifier | None = None
    display_columns: tuple[Identifier, ...] = ()

    @property
    def plural(self) -> str:
        """The API's path segment and the directory's wording: ``users``, ``devices``."""
        return f"{self.name}s"


class Tenant(BaseModel):
    """Whose data a row is (a client): every query is scoped to one tenant.

    Declared once; every entity's ``tenant_key`` must be its ``key``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: EntityName
    label: Text
    model: Identifier
    key: Identifier
    description: str = ""


class Mart(BaseModel):
    """A mart that belongs to no single entity (the activity fact, the calendar, the quarantine).

    Code and the expectations refer to it by ``name`` (its role), never by ``model``,
    so renaming the dbt model is an edit of ``model`` alone. ``grain`` is its key
    columns, in the order the serving snapshot sorts it by.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: EntityName
    model: Identifier
    kind: Literal["dimension", "fact"]
    grain: tuple[Identifier, ...] = ()
    time_column: Identifier | None = None
    served: bool = True
    description: str = ""


MetricType = Literal["simple", "ratio", "derived", "cumulative", "conversion"]
ValueType = Literal["integer", "number"]


class Metric(BaseModel):
    """One served metric, made from a dbt metric (``dbt_metrics.py``).

    ``name`` is the API name (dbt's name with ``_`` as ``-``), ``dbt_name`` dbt's;
    ``entities`` the registry entities of its semantic model (the endpoints serving it).
    ``aggregation`` and ``expression`` describe the one aggregation over ``model`` of a
    simple, unfiltered metric (``simple``), ``None`` for any other metric; ``model`` and
    ``time_column`` are its first semantic model's mart and day column. The loader
    checks these columns against dbt's manifest (``columns.py``); the SQL itself is
    compiled from dbt's semantic manifest (``metric_sql``) for every metric.
    ``value_type``: ``integer`` for counts and sums, ``number`` (JSON number or null)
    for ratio, derived and average metrics.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: MetricName
    label: Text
    description: Text
    model: Identifier
    time_column: Identifier
    aggregation: Aggregation | None = None
    expression: Text | None = None
    entities: tuple[EntityName, ...] = Field(min_length=1)
    dbt_name: str = ""
    type: MetricType = "simple"
    semantic_model: str = ""
    measures: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    value_type: ValueType = "integer"

    _tree: exp.Expression | None = PrivateAttr(default=None)

    @field_validator("aggregation", mode="before")
    @classmethod
    def _known_aggregation(cls, value: object) -> object:
        if isinstance(value, str) and value not in AGGREGATIONS:
            raise ValueError(
                f"unsupported aggregation {value!r}; expected one of: {', '.join(AGGREGATIONS)}"
            )
        return value

    @field_validator("entities")
    @classmethod
    def _no_repeated_entity(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"lists an entity twice: {', '.join(value)}")
        return value

    @field_validator("expression")
    @classmethod
    def _valid_expression(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            parse_expression(value, allow_star=info.data.get("aggregation") == "count")
        return value

    def model_post_init(self, context: object, /) -> None:
        """Keep the parsed expression: the columns it reads are checked against dbt's."""
        if self.expression is not None:
            self._tree = parse_expression(self.expression, allow_star=self.aggregation == "count")

    @property
    def simple(self) -> bool:
        """One aggregation over one mart, no filter, no fill: the contract's kind of metric,
        whose empty buckets read 0 on every endpoint (``Catalog`` compiles it with
        ``zero_fill``, so a ``min``/``max`` one too, where dbt's own rule says null)."""
        return self.aggregation is not None and self._tree is not None

    @property
    def columns(self) -> list[str]:
        """Columns of ``model`` this metric reads besides the entity keys."""
        read = referenced_columns(self._tree) if self._tree is not None else []
        return [self.time_column, *read]


# Top-level keys of a dbt properties file: dbt reads them, the registry loader skips them.
DBT_KEYS = frozenset(
    {
        "version",
        "models",
        "sources",
        "seeds",
        "snapshots",
        "macros",
        "analyses",
        "exposures",
        "groups",
        "unit_tests",
        "data_tests",
        "semantic_models",
        "metrics",
        "saved_queries",
    }
)


class SemanticFile(BaseModel):
    """The registry part of one YAML file: the tenant (at most one over all files), entities,
    shared marts. dbt's keys (``DBT_KEYS``) are dbt's, and removed before this is checked."""

    model_config = ConfigDict(extra="forbid")

    tenant: Tenant | None = None
    entities: list[Entity] = Field(default_factory=list)
    marts: list[Mart] = Field(default_factory=list)
