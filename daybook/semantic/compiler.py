"""Pure functions from a metric definition to a sqlglot syntax tree, then to dialect SQL.

The query has three parts (see ``semantic/README.md``):

1. ``bucket_spine``: every day of the requested range, generated in SQL, mapped
   to its bucket start and de-duplicated, so each bucket overlapping the range
   appears once even where the warehouse holds no data (or no ``dim_dates``).
2. ``metric_by_bucket``: the metric's model filtered on tenant key, entity key
   and time column with bound parameters (sargable: the fact's
   ``(client_id, <entity>_id, activity_date)`` indexes apply), aggregated
   straight at the bucket grain, so ``count_distinct`` counts distinct values
   over the whole bucket instead of adding up days.
3. The spine left-joined to the aggregate, zero-filled, cast to an integer,
   oldest bucket first.

Request values never appear in the tree: only parameter markers do.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from daybook.semantic.definitions import Entity, Metric
from daybook.semantic.dialects import PARAMETER_NAMES, Dialect

GRANULARITIES: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")
TRUNC_UNITS = {"weekly": "WEEK", "monthly": "MONTH", "quarterly": "QUARTER"}
BUCKET = "bucket_date"
VALUE = "metric_value"
DAY = "calendar_day"


def parameter(name: str, dialect: Dialect) -> exp.Placeholder:
    """The marker of one request value in ``dialect``'s parameter style."""
    if dialect.param_style == "numeric":
        return exp.Placeholder(this=str(PARAMETER_NAMES.index(name) + 1))
    return exp.Placeholder(this=name)


def date_parameter(name: str, dialect: Dialect) -> exp.Expression:
    """A date marker cast to DATE, so text or untyped bindings still compare as dates."""
    return exp.cast(parameter(name, dialect), exp.DataType.Type.DATE)


def bucket_start(day: exp.Expression, granularity: str, dialect: Dialect) -> exp.Expression:
    """The first day of the bucket holding ``day``, as a DATE, on ``dialect``.

    Traps handled: BigQuery's ``WEEK`` starts on Sunday, so it gets
    ``WEEK(MONDAY)``; Snowflake's ``DATE_TRUNC('WEEK')`` follows the session's
    ``WEEK_START``, so it gets ``DATEADD(DAY, 1 - DAYOFWEEKISO(d), d)``;
    PostgreSQL and DuckDB truncate a date to a timestamp, so every truncation is
    cast back to DATE (the join with the spine compares dates).
    """
    if granularity == "daily":
        return day
    if granularity not in TRUNC_UNITS:
        raise ValueError(f"unknown granularity {granularity!r}")
    if granularity == "weekly" and dialect.name == "snowflake":
        offset = exp.Sub(this=exp.Literal.number(1), expression=exp.DayOfWeekIso(this=day))
        return exp.DateAdd(this=day.copy(), expression=offset, unit=exp.var("DAY"))
    unit: exp.Expression = exp.var(TRUNC_UNITS[granularity])
    if granularity == "weekly" and dialect.name == "bigquery":
        unit = exp.WeekStart(this=exp.var("MONDAY"))
    return exp.cast(exp.DateTrunc(this=day, unit=unit), exp.DataType.Type.DATE)


def aggregate(metric: Metric) -> exp.Expression:
    """The metric's aggregation over its expression, at whatever grain the query groups by.

    ``average`` is rounded half up to an integer: ``FLOOR(AVG(x) + 0.5)``.
    """
    value = metric.expression_tree
    if metric.aggregation == "sum":
        return exp.Sum(this=value)
    if metric.aggregation == "count":
        return exp.Count(this=value)
    if metric.aggregation == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    if metric.aggregation == "min":
        return exp.Min(this=value)
    if metric.aggregation == "max":
        return exp.Max(this=value)
    if metric.aggregation == "average":
        return exp.Floor(this=exp.Add(this=exp.Avg(this=value), expression=exp.Literal.number(0.5)))
    raise ValueError(f"unsupported aggregation {metric.aggregation!r}")


def one_day(dialect: Dialect) -> exp.Interval:
    """``INTERVAL 1 DAY``; Trino accepts only the quoted form ``INTERVAL '1' DAY``."""
    quantity = exp.Literal.string("1") if dialect.name == "trino" else exp.Literal.number(1)
    return exp.Interval(this=quantity, unit=exp.var("DAY"))


def bucket_spine(granularity: str, dialect: Dialect) -> exp.Select:
    """One row per bucket overlapping [start_date, end_date], from a generated day series."""
    days = exp.GenerateDateArray(
        start=date_parameter("start_date", dialect),
        end=date_parameter("end_date", dialect),
        step=one_day(dialect),
    )
    calendar = exp.Unnest(
        expressions=[days],
        alias=exp.TableAlias(this=exp.to_identifier("calendar"), columns=[exp.to_identifier(DAY)]),
    )
    spine = exp.select(exp.alias_(bucket_start(exp.column(DAY), granularity, dialect), BUCKET))
    return spine.from_(calendar, copy=False).distinct(distinct=granularity != "daily", copy=False)


def metric_by_bucket(
    metric: Metric, entity: Entity, granularity: str, dialect: Dialect
) -> exp.Select:
    """The metric aggregated per bucket for one tenant's entity over the requested days."""
    time = exp.column(metric.time_column)
    bucket = bucket_start(time.copy(), granularity, dialect)
    filters = [
        exp.EQ(this=exp.column(entity.tenant_key), expression=parameter("tenant_id", dialect)),
        exp.EQ(this=exp.column(entity.key), expression=parameter("entity_id", dialect)),
        exp.GTE(this=time.copy(), expression=date_parameter("start_date", dialect)),
        exp.LTE(this=time.copy(), expression=date_parameter("end_date", dialect)),
    ]
    return (
        exp.select(exp.alias_(bucket, BUCKET), exp.alias_(aggregate(metric), VALUE))
        .from_(exp.to_table(metric.model), copy=False)
        .where(exp.and_(*filters), copy=False)
        .group_by(bucket.copy(), copy=False)
    )


def value_column(metric: Metric) -> str:
    """The result column's name: the metric's name in snake case (``activity_count``)."""
    return metric.name.replace("-", "_")


def metric_query(metric: Metric, entity: Entity, granularity: str, dialect: Dialect) -> exp.Select:
    """The whole request query: spine left-joined to the per-bucket aggregate, zero-filled."""
    value = exp.Coalesce(
        this=exp.column(VALUE, "metric_by_bucket"), expressions=[exp.Literal.number(0)]
    )
    return (
        exp.select(
            exp.column(BUCKET, "bucket_spine"),
            exp.alias_(exp.cast(value, exp.DataType.Type.BIGINT), value_column(metric)),
        )
        .with_("bucket_spine", as_=bucket_spine(granularity, dialect), copy=False)
        .with_(
            "metric_by_bucket",
            as_=metric_by_bucket(metric, entity, granularity, dialect),
            copy=False,
        )
        .from_("bucket_spine", copy=False)
        .join(
            "metric_by_bucket",
            on=exp.EQ(
                this=exp.column(BUCKET, "metric_by_bucket"),
                expression=exp.column(BUCKET, "bucket_spine"),
            ),
            join_type="left",
            copy=False,
        )
        .order_by(exp.column(BUCKET, "bucket_spine"), copy=False)
    )


def bucket_values(metric: Metric, entity: Entity, granularity: str, dialect: Dialect) -> exp.Select:
    """Only the buckets holding rows, oldest first, each value cast to an integer.

    The ``"buckets"`` shape of a compiled query: for a caller that lays the
    values on the calendar itself (``daybook.semantic.calendar.fill``), sparing
    the warehouse the day series and the join of :func:`metric_query`.
    """
    query = metric_by_bucket(metric, entity, granularity, dialect)
    value = query.selects[1]
    value.set("this", exp.cast(value.this, exp.DataType.Type.BIGINT))
    return query.order_by(exp.column(BUCKET), copy=False)


SHAPES = {"series": metric_query, "buckets": bucket_values}


_NAMED_MARKER = re.compile(r":(" + "|".join(PARAMETER_NAMES) + r")(?![A-Za-z0-9_])")


def render(
    query: exp.Expression, dialect: Dialect, *, pretty: bool = False
) -> tuple[str, tuple[str, ...]]:
    """SQL text for ``dialect`` and the parameter names in binding order.

    For ``qmark`` dialects the tree is rendered with named markers first and
    each is then replaced by ``?`` in textual order, which is the order the
    driver binds. (String literals are restricted to ``[A-Za-z0-9 _.-]``, so a
    marker cannot hide inside one.)
    """
    sql = query.sql(dialect=dialect.name, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    if dialect.param_style != "qmark":  # named or numbered markers bind by name/number
        return sql, PARAMETER_NAMES
    order: list[str] = []

    def to_qmark(match: re.Match[str]) -> str:
        order.append(match.group(1))
        return "?"

    return _NAMED_MARKER.sub(to_qmark, sql), tuple(order)
