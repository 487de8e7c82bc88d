"""A metric's ``filter:`` (``{{ Dimension('device__platform') }} = 'chrome'``) as a condition.

dbt checks a filter's Jinja but not its names, so a misspelt dimension parses without
complaint; here every ``Dimension('entity__name')`` must resolve, or the error names the
metric and the nearest valid name. A dimension of the measure's own semantic model
(named through its primary entity) is its column; a dimension one entity hop away (a
device's ``platform`` in ``dim_devices``) becomes an inner join on that entity's key,
many-to-one because the other model is identified by that entity, so counts cannot
fan out and the fact's own tenant/entity/day predicates stay as they are (sargable).

The rendered SQL is parsed by sqlglot and checked against a whitelist, like a metric
expression: only the resolved columns, literals, comparisons, ``IN``, ``BETWEEN``,
``IS NULL`` and boolean logic reach the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlglot import exp
from sqlglot.errors import ParseError

from daybook.semantic.errors import SemanticError, did_you_mean
from daybook.semantic.expressions import (
    SAFE_STRING,
    SAFE_STRING_TEXT,
    parse_expression,
    parse_one_expression,
)
from daybook.semantic.metric_sql.view import ManifestView

FACT_ALIAS = "f"
FILTER_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.Neg,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not, exp.Is,
    exp.In, exp.Between, exp.Tuple,
)  # fmt: skip
MARKER = "daybook_dimension_{}"


@dataclass(frozen=True)
class Join:
    """An inner join of a dimension model on one entity key (``alias.key = f.column``)."""

    alias: str
    table: str
    key: str
    fact_column: str


def _refuse(kind: str):
    def call(*args, **kwargs):
        raise SemanticError(f"{kind}(...) is not supported in a filter; use Dimension(...)")

    return call


def render(
    view: ManifestView, model_name: str, template: str, *, metric: str
) -> tuple[exp.Expression, list[Join]]:
    """The filter ``template`` on measures of ``model_name``: condition and joins it needs."""
    model = view.models[model_name]
    names: list[str] = []

    def dimension(name: str, *args, **kwargs) -> str:
        if args or kwargs:
            raise SemanticError(
                f"metric {metric}: filter: Dimension({name!r}, ...) takes a name only"
            )
        names.append(str(name))
        return MARKER.format(len(names) - 1)

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    context = {
        "Dimension": dimension,
        "TimeDimension": _refuse("TimeDimension"),
        "Entity": _refuse("Entity"),
        "Metric": _refuse("Metric"),
    }
    try:
        sql = env.from_string(template).render(context)
        tree = parse_one_expression(sql)
    except (SemanticError, ValueError) as error:
        raise SemanticError(f"metric {metric}: filter {template!r}: {error}") from None
    except (jinja2.TemplateError, ParseError, AttributeError, TypeError) as error:
        raise SemanticError(
            f"metric {metric}: filter {template!r} cannot be read: {error}"
        ) from None
    joins: dict[str, Join] = {}
    columns = {
        index: _column(view, model, name, joins, metric=metric) for index, name in enumerate(names)
    }
    for node in list(tree.walk()):
        if not isinstance(node, FILTER_NODES):
            raise SemanticError(
                f"metric {metric}: filter {template!r} uses {node.key.upper()}, not allowed"
            )
        if (
            isinstance(node, exp.Literal)
            and node.is_string
            and not SAFE_STRING.fullmatch(node.this)
        ):
            raise SemanticError(
                f"metric {metric}: filter {template!r}: string literals may hold only "
                f"{SAFE_STRING_TEXT}"
            )
    markers = {MARKER.format(index): sql for index, sql in columns.items()}
    for column in list(tree.find_all(exp.Column)):
        # only the markers Dimension(...) wrote become columns; any other name is refused
        if column.table or column.name not in markers:
            raise SemanticError(
                f"metric {metric}: filter {template!r}: {column.sql()!r} is not a Dimension(...)"
            )
        column.replace(markers[column.name].copy())
    return tree, list(joins.values())


def _column(
    view: ManifestView, model, name: str, joins: dict[str, Join], *, metric: str
) -> exp.Expression:
    """The SQL of the dimension ``entity__dimension`` names (its column, or its ``expr``
    over columns of its model), registering the join it needs."""
    entity, _, dimension = name.partition("__")
    if not dimension or "__" in dimension:
        raise SemanticError(
            f"metric {metric}: filter: Dimension({name!r}) must be 'entity__dimension' "
            f"(one entity hop){did_you_mean(name, view.reachable_dimensions(model))}"
        )
    if entity == view.primary_entity(model):
        column = view.dimension_column(model, dimension)
        if column is not None:
            return _dimension_sql(column, FACT_ALIAS, name=name, metric=metric)
    fact_column = view.entity_column(model, entity)
    if fact_column is not None:
        for other in view.identified_by(entity):
            column = view.dimension_column(other, dimension)
            if other.name == model.name or column is None:
                continue
            alias = f"j_{entity}"
            joins.setdefault(
                entity,
                Join(alias, view.table(other), view.entity_column(other, entity), fact_column),
            )
            if joins[entity].table != view.table(other):
                raise SemanticError(f"metric {metric}: filter: two models identified by {entity}")
            return _dimension_sql(column, alias, name=name, metric=metric)
    valid = view.reachable_dimensions(model)
    raise SemanticError(
        f"metric {metric}: filter: unknown dimension {name!r}{did_you_mean(name, valid)} "
        f"for semantic model {model.name}; valid: {', '.join(valid) or 'none'}"
    )


def _dimension_sql(expr: str, alias: str, *, name: str, metric: str) -> exp.Expression:
    """A dimension's ``expr`` (dbt allows SQL there: ``case when ... end``) on the table
    ``alias``: checked like a measure's expression (columns, arithmetic, CASE, COALESCE,
    comparisons; no functions), each column qualified by ``alias``. Refused with the
    dimension's name otherwise, so a filter never reaches a warehouse as an unknown
    quoted "column" (a 500 on every request)."""
    try:
        tree = parse_expression(expr)
    except ValueError as error:
        raise SemanticError(f"metric {metric}: filter: dimension {name!r} expr: {error}") from None
    columns = list(tree.find_all(exp.Column))
    if not columns:  # a constant would make the filter always true or always false
        raise SemanticError(
            f"metric {metric}: filter: dimension {name!r} expr {expr!r} reads no column"
        )
    for column in columns:
        column.set("table", exp.to_identifier(alias))
    return tree if isinstance(tree, exp.Column) else exp.Paren(this=tree)
