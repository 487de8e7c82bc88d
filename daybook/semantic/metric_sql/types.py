"""Types: a metric whose SQL the warehouse would refuse on every request is refused at load.

The names in a metric are checked against dbt's documented columns (``columns.py``), but
a name can be right and its type wrong: ``agg: sum, expr: user_id`` sums a text column,
``{{ Dimension('device__platform') }} = 1`` compares text with a number. dbt and
MetricFlow accept both, and the warehouse fails each request for the metric (a 500).
The marts' dbt model contracts give every column a ``data_type``; with those types,
sqlglot annotates what the metric reads (its measures' expressions, filters and time
dimension) and this module refuses what some warehouse would: the same checks for
DuckDB, PostgreSQL and Spark, so a metric that loads runs on each of them.

The rules, by kind of type (text, number, time, boolean; an unknown type passes):

- ``sum``, ``average``, ``min`` and ``max`` need a number (a metric's values are numbers);
  ``sum_boolean`` needs a boolean; ``count`` and ``count_distinct`` take anything.
- A comparison (``=``, ``<``, ``IN``, ``BETWEEN`` ...) needs both sides of one kind; a
  quoted literal may stand for a number, a day or a boolean when every warehouse reads
  its text as one (``heartbeats = '5'``, ``activity_date >= '2026-01-01'``; not
  ``heartbeats = '5.0'`` or ``activity_date >= '20260101'``).
- ``+ - *`` need numbers; ``CASE WHEN``, ``AND``, ``OR``, ``NOT`` need booleans; the
  branches of a ``CASE`` and the arguments of ``COALESCE`` need one kind.
- The time dimension a measure is aggregated by must be a day (a date or a timestamp).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date

from dbt_semantic_interfaces.type_enums import AggregationType
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.annotate_types import annotate_types

from daybook.semantic.errors import SemanticError
from daybook.semantic.expressions import parse_expression
from daybook.semantic.metric_sql.filters import FACT_ALIAS, render
from daybook.semantic.metric_sql.plan import leaves, resolve
from daybook.semantic.metric_sql.view import ManifestView, MeasureSource

# relation -> {column: the data_type its dbt contract documents}
ColumnTypes = Mapping[str, Mapping[str, str]]

# relation -> {column: its type, as sqlglot reads the documented one}
Schema = dict[str, dict[str, exp.DataType]]

NUMBER, TEXT, TIME, BOOLEAN = "a number", "text", "a date or time", "a boolean"
# what an aggregation's expression must be (``count`` and ``count_distinct`` take anything)
AGGREGATED_KIND = {
    AggregationType.SUM: NUMBER,
    AggregationType.AVERAGE: NUMBER,
    AggregationType.MIN: NUMBER,
    AggregationType.MAX: NUMBER,
    AggregationType.SUM_BOOLEAN: BOOLEAN,
}
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
BOOLEAN_WORDS = {"true", "false"}
# quoted text every warehouse reads as a value of the column's type
WHOLE = re.compile(r"\s*[+-]?\d+\s*")
DECIMAL = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*")
DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def check_types(view: ManifestView, metric: str, column_types: ColumnTypes) -> None:
    """Raise ``SemanticError`` naming the first part of ``metric`` some warehouse would
    refuse for its types (see the module's rules); columns without a type pass."""
    schema = _schema(column_types)
    if not any(schema.values()):
        return  # a manifest without contracts: nothing is known to check
    for leaf in leaves(resolve(view, metric)):
        source = view.measure(leaf.measure, metric=metric)
        problems = [
            _time_problem(view, source, schema, metric=metric),
            _measure_problem(source, view.table(source.model), schema),
            *(_filter_problem(view, source, template, schema, metric) for template in leaf.filters),
        ]
        problem = next((problem for problem in problems if problem), None)
        if problem:
            raise SemanticError(
                f"metric {metric}: {problem}; the warehouse would refuse every request for it"
            )


def _time_problem(
    view: ManifestView, source: MeasureSource, schema: Schema, *, metric: str
) -> str | None:
    column = view.time_column(source, metric=metric)
    kind = _kind(schema.get(view.table(source.model), {}).get(column.lower()))
    if kind in (None, TIME):
        return None
    return f"time dimension column {column!r} of {source.model.name} is {kind}, not a date"


def _measure_problem(source: MeasureSource, table: str, schema: Schema) -> str | None:
    measure = source.measure
    text = measure.expr or measure.name
    try:
        tree = parse_expression(text, allow_star=measure.agg is AggregationType.COUNT)
    except ValueError:
        return None  # the compiler refuses it by name (``check_metric`` runs first)
    if isinstance(tree, exp.Star):
        return None
    for column in tree.find_all(exp.Column):
        column.set("table", exp.to_identifier(FACT_ALIAS))
    typed = _typed(tree, {FACT_ALIAS: table}, schema)
    where = f"measure {measure.name!r} ({measure.agg.value}, expr {text!r})"
    problem = _first_problem(typed)
    if problem:
        return f"{where}: {problem}"
    kind, needed = _kind(typed.type), AGGREGATED_KIND.get(measure.agg)
    if needed and kind not in (None, needed):
        return f"{where}: the expression is {kind}; {measure.agg.value} needs {needed}"
    return None


def _filter_problem(
    view: ManifestView, source: MeasureSource, template: str, schema: Schema, metric: str
) -> str | None:
    condition, joins = render(view, source.model.name, template, metric=metric)
    tables = {FACT_ALIAS: view.table(source.model)} | {join.alias: join.table for join in joins}
    problem = _first_problem(_typed(condition, tables, schema))
    return f"filter {template!r}: {problem}" if problem else None


def _schema(column_types: ColumnTypes) -> Schema:
    """The documented types sqlglot can read (any other type stays unknown, so passes)."""
    schema: Schema = {}
    for table, columns in column_types.items():
        for column, text in columns.items():
            try:
                kind = exp.DataType.build(text, dialect="postgres")
            except (ParseError, ValueError):
                continue
            schema.setdefault(table, {})[column.lower()] = kind
    return schema


def _typed(tree: exp.Expression, tables: dict[str, str], schema: Schema) -> exp.Expression:
    """``tree`` (columns qualified by the aliases of ``tables``), each node given its type
    by sqlglot from the documented column types."""
    aliases = list(tables.items())
    select = exp.select(tree.copy()).from_(exp.table_(aliases[0][1], alias=aliases[0][0]))
    for alias, table in aliases[1:]:
        select = select.join(exp.table_(table, alias=alias), on=exp.true())
    known = {
        table: {column: kind.sql() for column, kind in schema[table].items()}
        for table in tables.values()
        if schema.get(table)  # sqlglot refuses a table of no columns
    }
    return annotate_types(select, schema=known).selects[0]


def _first_problem(tree: exp.Expression) -> str | None:
    for node in tree.walk():
        problem = _problem(node)
        if problem:
            return problem
    return None


def _problem(node: exp.Expression) -> str | None:
    """What is wrong with the types of ``node``'s own operands, if anything."""
    if isinstance(node, (*COMPARISONS, exp.In, exp.Between)):
        for left, right in _compared(node):
            if not _comparable(left, right):
                hint = _quoted_hint(left, right)
                return (
                    f"compares {_shown(left)} ({_kind(left.type)}) "
                    f"with {_shown(right)} ({_kind(right.type)}){hint}"
                )
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Neg)):
        return _needs(node, [node.this, node.args.get("expression")], NUMBER, "arithmetic")
    if isinstance(node, exp.If):
        return _needs(node, [node.this], BOOLEAN, "CASE WHEN")
    if isinstance(node, (exp.And, exp.Or, exp.Not)):
        return _needs(node, [node.this, node.args.get("expression")], BOOLEAN, node.key.upper())
    if isinstance(node, (exp.Case, exp.Coalesce)):
        values = _branches(node)
        kinds = {_kind(value.type) for value in values} - {None}
        if len(kinds) > 1:
            shown = ", ".join(f"{_shown(value)} ({_kind(value.type)})" for value in values)
            return f"{node.key.upper()} mixes {' and '.join(sorted(kinds))}: {shown}"
    return None


def _compared(node: exp.Expression) -> Iterator[tuple[exp.Expression, exp.Expression]]:
    if isinstance(node, exp.In):
        yield from ((node.this, value) for value in node.expressions)
    elif isinstance(node, exp.Between):
        yield from ((node.this, node.args["low"]), (node.this, node.args["high"]))
    else:
        yield node.this, node.expression


def _branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    values = [branch.args["true"] for branch in node.args.get("ifs") or []]
    default = node.args.get("default")
    return [*values, default] if default is not None else values


def _needs(node: exp.Expression, operands: list, kind: str, what: str) -> str | None:
    for operand in operands:
        if operand is not None and _kind(operand.type) not in (None, kind):
            return (
                f"{what} needs {kind}, and {_shown(operand)} is {_kind(operand.type)} "
                f"(in {_shown(node)})"
            )
    return None


def _comparable(left: exp.Expression, right: exp.Expression) -> bool:
    kinds = _kind(left.type), _kind(right.type)
    if None in kinds or kinds[0] == kinds[1]:
        return True
    for quoted, other in ((left, right), (right, left)):
        if isinstance(quoted, exp.Literal) and quoted.is_string:
            return _reads_as(quoted.this, other.type)
    return False


def _quoted_hint(left: exp.Expression, right: exp.Expression) -> str:
    """Why a quoted literal compared with a typed side is not read as its type, if one is."""
    for quoted, other in ((left, right), (right, left)):
        if isinstance(quoted, exp.Literal) and quoted.is_string and other.type is not None:
            kind = _kind(other.type)
            if kind == NUMBER and other.type.this in exp.DataType.INTEGER_TYPES:
                kind = "a whole number"
            written = {TIME: " (write it 'YYYY-MM-DD')", BOOLEAN: " (true or false)"}
            return f"; not every warehouse reads {quoted.sql()} as {kind}{written.get(kind, '')}"
    return ""


def _reads_as(text: str, data_type: exp.DataType | None) -> bool:
    """Whether DuckDB, PostgreSQL and Spark all read the quoted ``text`` as a value of
    ``data_type``: a whole number for an integer column (PostgreSQL refuses ``'5.0'``), a
    plain decimal for another number, ``YYYY-MM-DD`` for a day (DuckDB and Spark refuse
    ``'20260101'``; a time of day needs ``:``, which no literal may hold), ``true`` or
    ``false`` for a boolean."""
    kind = _kind(data_type)
    if kind == NUMBER:
        assert data_type is not None
        pattern = WHOLE if data_type.this in exp.DataType.INTEGER_TYPES else DECIMAL
        return pattern.fullmatch(text) is not None
    if kind == TIME:
        found = DAY.fullmatch(text)
        if found is None:
            return False
        try:
            date(*(int(part) for part in found.groups()))
        except ValueError:
            return False
        return True
    return kind == BOOLEAN and text.strip().lower() in BOOLEAN_WORDS


def _kind(data_type: exp.DataType | None) -> str | None:
    """The kind of a type, or ``None`` for an unknown one (a column without a contract)."""
    if data_type is None:
        return None
    if data_type.this in exp.DataType.TEXT_TYPES:
        return TEXT
    if data_type.this in exp.DataType.NUMERIC_TYPES:
        return NUMBER
    if data_type.this in exp.DataType.TEMPORAL_TYPES:
        return TIME
    if data_type.this is exp.DataType.Type.BOOLEAN:
        return BOOLEAN
    return None


def _shown(node: exp.Expression) -> str:
    """``node`` as the YAML spells it: no table aliases the compiler added."""
    bare = node.copy()
    for column in bare.find_all(exp.Column):
        column.set("table", None)
    return bare.sql()
