"""The warehouses the compiler targets: one sqlglot dialect each, with Daybook's conventions.

The compiler builds one dialect-neutral tree per request; every difference
between warehouses lives here, the way sqlglot itself expresses them: a
dialect subclass whose ``Generator.TRANSFORMS`` render a node type in that
warehouse's form. Nothing rewrites SQL text.

Conventions the neutral tree relies on:

- A request value is ``exp.Placeholder(this=<name>)``. A request binds four:
  ``tenant_id``, ``entity_id``, ``start_date`` and ``end_date``.
- ``DATE_TRUNC`` with unit ``WEEK`` means the ISO week, Monday first
  (``daybook.semantic.calendar``).

Each dialect renders placeholders in the marker style its usual Python driver
accepts, so a compiled query runs as is:

| dialect | marker | parameters() returns | driver |
|---|---|---|---|
| duckdb | ``$tenant_id`` | dict | duckdb ``execute(sql, dict)`` |
| postgres | ``%(tenant_id)s`` | dict | psycopg 3 |
| snowflake | ``:1`` .. ``:4`` | tuple | snowflake-connector, ``paramstyle="numeric"`` |
| bigquery | ``@tenant_id`` | dict | google-cloud-bigquery (wrap as ``ScalarQueryParameter``) |
| spark, databricks | ``:tenant_id`` | dict | ``spark.sql(sql, args=...)``, databricks-sql |
| trino | ``?`` | tuple, one value per marker | trino-python-client |

Named markers are sqlglot's own rendering of a named placeholder in that
dialect. Numbered and unnamed markers are the same dialect's rendering of
``Placeholder(this="1")`` and ``Placeholder()``. The binding order of unnamed
markers is the tree's depth-first order, the order sqlglot's own
``exp.replace_placeholders`` fills unnamed placeholders in (a test executes a
``qmark`` query on DuckDB to keep that true).

A new warehouse (a Spark backend, say) is one ``build_dialect(...)`` line; a new
difference (an interval or offset form a metric needs) is one entry in that
dialect's ``transforms``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.dialects.databricks import Databricks
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.dialects.spark import Spark
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel
from sqlglot.generator import Generator

from daybook.semantic.errors import SemanticError

ParamStyle = Literal["named", "numeric", "qmark"]
# The request values every metric query binds, in this order for numeric markers.
PARAMETER_NAMES: tuple[str, ...] = ("tenant_id", "entity_id", "start_date", "end_date")
Handler = Callable[[Generator, exp.Expression], str]


def _default(generator: Generator, node: exp.Expression, base: type[Generator]) -> str:
    """``node`` as ``base`` renders it (used after a rewrite that kept the node's type)."""
    handler = base.TRANSFORMS.get(type(node))
    if handler is not None:
        return handler(generator, node)
    method = getattr(generator, f"{node.key}_sql", None)
    return method(node) if method else generator.function_fallback_sql(node)  # type: ignore[arg-type]


def _rewrite(rewrite: Callable[[exp.Expression], exp.Expression], base: type[Generator]) -> Handler:
    """A TRANSFORMS handler: rewrite the node, then render it as ``base`` would."""

    def handler(generator: Generator, node: exp.Expression) -> str:
        new = rewrite(node)
        return _default(generator, new, base) if type(new) is type(node) else generator.sql(new)

    return handler


def _is_week(node: exp.Expression) -> bool:
    return node.text("unit").upper() == "WEEK"  # DateTrunc keeps its unit as a string literal


def _monday_weeks(node: exp.Expression) -> exp.Expression:
    """BigQuery: ``WEEK`` starts on Sunday, so ISO weeks are ``WEEK(MONDAY)``."""
    if not _is_week(node):
        return node
    node = node.copy()
    node.set("unit", exp.WeekStart(this=exp.var("MONDAY")))
    return node


def _weeks_by_iso_weekday(node: exp.Expression) -> exp.Expression:
    """Snowflake: ``DATE_TRUNC('WEEK')`` follows the session's ``WEEK_START``, so step back
    to the ISO Monday instead: ``DATEADD(DAY, 1 - DAYOFWEEKISO(d), d)``."""
    if not _is_week(node):
        return node
    day = node.this
    back = exp.Sub(this=exp.Literal.number(1), expression=exp.DayOfWeekIso(this=day.copy()))
    return exp.DateAdd(this=day.copy(), expression=back, unit=exp.var("DAY"))


def _quoted_quantity(node: exp.Expression) -> exp.Expression:
    """Trino accepts only quoted interval quantities: ``INTERVAL '1' DAY``."""
    quantity = node.this
    if isinstance(quantity, exp.Literal) and not quantity.is_string:
        node = node.copy()
        node.set("this", exp.Literal.string(quantity.this))
    return node


def _marker(style: ParamStyle) -> dict[type[exp.Expression], Handler]:
    """The TRANSFORMS entry rendering a named placeholder in ``style``."""
    if style == "named":
        return {}  # the dialect's own named form: $x, %(x)s, @x, :x
    if style == "numeric":
        return {
            exp.Placeholder: lambda generator, node: generator.placeholder_sql(
                exp.Placeholder(this=str(PARAMETER_NAMES.index(node.name) + 1))
            )
        }
    return {exp.Placeholder: lambda generator, node: generator.placeholder_sql(exp.Placeholder())}


@dataclass(frozen=True)
class Dialect:
    """A warehouse: its sqlglot name, its driver's marker style and its Daybook generator."""

    name: str
    param_style: ParamStyle
    sqlglot: type[SqlglotDialect]

    def generate(self, tree: exp.Expression, *, pretty: bool = False) -> str:
        """SQL text of ``tree`` in this dialect; anything it cannot express raises.

        Comments are never written: YAML's SQL is refused with one at load
        (``daybook.semantic.expressions``), and should one reach a tree some other way,
        a ``*/`` inside it cannot end it early and turn its text into SQL.
        """
        return tree.sql(
            dialect=self.sqlglot,
            pretty=pretty,
            comments=False,
            unsupported_level=ErrorLevel.RAISE,
        )

    def binding_order(self, tree: exp.Expression, sql: str) -> tuple[str, ...]:
        """Names of the request values in the order the driver binds them for ``tree``.

        For unnamed markers that is the tree's depth-first order. It holds while
        the generator writes each placeholder once and in argument order: a
        generator that repeats one (Snowflake spells a date series with its start
        twice) is caught here by counting the markers sqlglot parses back from
        ``sql``, and refused rather than bound wrongly.
        """
        used = {node.name for node in tree.find_all(exp.Placeholder)}
        if self.param_style == "named":  # drivers refuse values the SQL does not use
            return tuple(name for name in PARAMETER_NAMES if name in used)
        if self.param_style == "numeric":  # markers are positions in PARAMETER_NAMES
            return PARAMETER_NAMES
        order = tuple(node.name for node in tree.find_all(exp.Placeholder, bfs=False))
        rendered = sqlglot.parse_one(sql, dialect=self.sqlglot).find_all(exp.Placeholder)
        if sum(1 for _ in rendered) != len(order):
            raise ValueError(f"{self.name} repeats a request value; use named or numbered markers")
        return order


def build_dialect(
    name: str,
    base: type[SqlglotDialect],
    style: ParamStyle,
    transforms: dict[type[exp.Expression], Callable[[exp.Expression], exp.Expression]]
    | None = None,
) -> Dialect:
    """``base`` with Daybook's markers and node rewrites in its generator's TRANSFORMS.

    The subclass is named ``Daybook<Base><Style>`` (sqlglot registers dialect
    classes by name), so sqlglot's own ``base`` is left untouched.
    """
    generator = base.generator_class
    entries: dict[type[exp.Expression], Handler] = {
        node_type: _rewrite(rewrite, generator) for node_type, rewrite in (transforms or {}).items()
    }
    entries.update(_marker(style))
    daybook_generator = type(
        "Generator", (generator,), {"TRANSFORMS": {**generator.TRANSFORMS, **entries}}
    )
    subclass = type(
        f"Daybook{base.__name__}{style.title()}", (base,), {"Generator": daybook_generator}
    )
    return Dialect(name, style, subclass)


DIALECTS: dict[str, Dialect] = {
    "duckdb": build_dialect("duckdb", DuckDB, "named"),
    "postgres": build_dialect("postgres", Postgres, "named"),
    "snowflake": build_dialect(
        "snowflake", Snowflake, "numeric", {exp.DateTrunc: _weeks_by_iso_weekday}
    ),
    "bigquery": build_dialect("bigquery", BigQuery, "named", {exp.DateTrunc: _monday_weeks}),
    "spark": build_dialect("spark", Spark, "named"),
    "databricks": build_dialect("databricks", Databricks, "named"),
    "trino": build_dialect("trino", Trino, "qmark", {exp.Interval: _quoted_quantity}),
}


def get_dialect(name: str) -> Dialect:
    """The named dialect, or a ``SemanticError`` listing the supported ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise SemanticError(
            f"Unknown dialect: {name}. Valid values: {', '.join(DIALECTS)}"
        ) from None
