"""The small sqlglot building blocks every metric query is made of: request markers,
bucket starts, the generated day series, column and table nodes, day shifts and
truncations, literals and a null-safe division.

Kept apart from ``sql.py`` (the query builder) so that the cumulative leaves
(``cumulative.py``) use them without importing the builder, which imports them.
Request values never appear in a tree, only markers (``parameter``); how a warehouse
spells a marker, an ISO week or an interval is its generator's business
(``dialects.py``), so no node here branches on a dialect.
"""

from __future__ import annotations

from sqlglot import exp

from daybook.semantic.calendar import get_granularity
from daybook.semantic.metric_sql.plan import Shift

BUCKET = "bucket_date"
VALUE = "metric_value"
DAY = "calendar_day"
METRIC_DAY = "metric_day"
MEASURE = "measure_value"
DAYS, SPINE = "calendar_days", "bucket_spine"
DATE = exp.DataType.Type.DATE


def parameter(name: str) -> exp.Placeholder:
    """The marker of one request value; each dialect renders it in its driver's style."""
    return exp.Placeholder(this=name)


def date_parameter(name: str) -> exp.Expression:
    """A date marker cast to DATE, so text or untyped bindings still compare as dates."""
    return exp.cast(parameter(name), DATE)


def bucket_start(day: exp.Expression, granularity: str) -> exp.Expression:
    """The first day of the bucket holding ``day``, as a DATE: ``calendar.GRANULARITY``'s
    truncation unit, cast back to DATE because PostgreSQL and DuckDB truncate a date to a
    timestamp (joins and the API compare dates). ``WEEK`` is the ISO week on every
    dialect (``dialects.py`` handles BigQuery's and Snowflake's own weeks)."""
    unit = get_granularity(granularity).trunc_unit
    if unit is None:
        return day
    return exp.cast(exp.DateTrunc(this=day, unit=exp.var(unit)), DATE)


def day_series() -> exp.Unnest:
    """Every day of [start_date, end_date] as rows of ``calendar(calendar_day)``."""
    days = exp.GenerateDateArray(
        start=date_parameter("start_date"),
        end=date_parameter("end_date"),
        step=exp.Interval(this=exp.Literal.number(1), unit=exp.var("DAY")),
    )
    return exp.Unnest(
        expressions=[days],
        alias=exp.TableAlias(this=exp.to_identifier("calendar"), columns=[exp.to_identifier(DAY)]),
    )


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
