"""The small sqlglot building blocks every metric query is made of: column and table
nodes, day shifts and truncations, literals and a null-safe division.

Kept apart from ``sql.py`` (the query builder) so that the cumulative leaves
(``cumulative.py``) use them without importing the builder, which imports them.
"""

from __future__ import annotations

from sqlglot import exp

from daybook.semantic.metric_sql.plan import Shift

METRIC_DAY = "metric_day"
MEASURE = "measure_value"
DAYS, SPINE = "calendar_days", "bucket_spine"
DATE = exp.DataType.Type.DATE


def shifted(day: exp.Expression, shifts: tuple[Shift, ...]) -> exp.Expression:
    """``day`` moved back by each shift in turn, as a DATE."""
    for count, unit in shifts:
        day = exp.cast(
            exp.DateSub(this=day, expression=exp.Literal.number(count), unit=exp.var(unit)), DATE
        )
    return day


def truncated(day: exp.Expression, unit: str) -> exp.Expression:
    return exp.cast(exp.DateTrunc(this=day, unit=exp.var(unit)), DATE)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table)


def table(name: str, alias: str | None = None) -> exp.Table:
    """A table node built directly (``exp.to_table`` would parse the name)."""
    node = exp.Table(this=exp.to_identifier(name))
    return node if alias is None else node.as_(alias, copy=False)


def literal(value: int | float) -> exp.Expression:
    return exp.Literal.number(value)


def as_float(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, exp.DataType.Type.DOUBLE)


def divide(numerator: exp.Expression, denominator: exp.Expression) -> exp.Expression:
    """``a / b`` in floating point; a zero (or absent) divisor gives null, never an error."""
    return exp.Div(
        this=as_float(numerator),
        expression=exp.Nullif(this=as_float(denominator), expression=exp.Literal.number(0.0)),
    )
