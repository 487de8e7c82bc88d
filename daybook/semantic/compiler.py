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

Request values never appear in the tree: only parameter markers do. The tree
is the same for every warehouse (bucket truncations come from
``calendar.GRANULARITY``); how each warehouse spells a marker, an ISO week or
an interval is its generator's business (``dialects.py``), so a new metric
shape here never branches on a dialect.
"""

from __future__ import annotations

from sqlglot import exp

from daybook.semantic.calendar import get_granularity
from daybook.semantic.definitions import Entity, Metric
from daybook.semantic.dialects import Dialect

BUCKET = "bucket_date"
VALUE = "metric_value"
DAY = "calendar_day"


def parameter(name: str) -> exp.Placeholder:
    """The marker of one request value; each dialect renders it in its driver's style."""
    return exp.Placeholder(this=name)


def date_parameter(name: str) -> exp.Expression:
    """A date marker cast to DATE, so text or untyped bindings still compare as dates."""
    return exp.cast(parameter(name), exp.DataType.Type.DATE)


def bucket_start(day: exp.Expression, granularity: str) -> exp.Expression:
    """The first day of the bucket holding ``day``, as a DATE: ``calendar.GRANULARITY``'s
    truncation unit, cast back to DATE because PostgreSQL and DuckDB truncate a date to a
    timestamp (the join with the spine compares dates). ``WEEK`` is the ISO week on every
    dialect (``dialects.py`` handles BigQuery's and Snowflake's own weeks)."""
    unit = get_granularity(granularity).trunc_unit
    if unit is None:
        return day
    return exp.cast(exp.DateTrunc(this=day, unit=exp.var(unit)), exp.DataType.Type.DATE)


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


def bucket_spine(granularity: str) -> exp.Select:
    """One row per bucket overlapping [start_date, end_date], from a generated day series."""
    calendar = day_series()
    spine = exp.select(exp.alias_(bucket_start(exp.column(DAY), granularity), BUCKET))
    return spine.from_(calendar, copy=False).distinct(distinct=granularity != "daily", copy=False)


def metric_by_bucket(metric: Metric, entity: Entity, granularity: str) -> exp.Select:
    """The metric aggregated per bucket for one tenant's entity over the requested days.

    The tenant's own entity (``client``: its key is its tenant key) is filtered by the
    tenant key alone and binds no ``entity_id``."""
    time = exp.column(metric.time_column)
    bucket = bucket_start(time.copy(), granularity)
    filters = [exp.EQ(this=exp.column(entity.tenant_key), expression=parameter("tenant_id"))]
    if entity.key != entity.tenant_key:
        filters.append(exp.EQ(this=exp.column(entity.key), expression=parameter("entity_id")))
    filters += [
        exp.GTE(this=time.copy(), expression=date_parameter("start_date")),
        exp.LTE(this=time.copy(), expression=date_parameter("end_date")),
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


def metric_query(metric: Metric, entity: Entity, granularity: str) -> exp.Select:
    """The whole request query: spine left-joined to the per-bucket aggregate, zero-filled."""
    value = exp.Coalesce(
        this=exp.column(VALUE, "metric_by_bucket"), expressions=[exp.Literal.number(0)]
    )
    return (
        exp.select(
            exp.column(BUCKET, "bucket_spine"),
            exp.alias_(exp.cast(value, exp.DataType.Type.BIGINT), value_column(metric)),
        )
        .with_("bucket_spine", as_=bucket_spine(granularity), copy=False)
        .with_(
            "metric_by_bucket",
            as_=metric_by_bucket(metric, entity, granularity),
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


def bucket_values(metric: Metric, entity: Entity, granularity: str) -> exp.Select:
    """Only the buckets holding rows, oldest first, each value cast to an integer.

    The ``"buckets"`` shape of a compiled query: for a caller that lays the
    values on the calendar itself (``daybook.semantic.calendar.fill``), sparing
    the warehouse the day series and the join of :func:`metric_query`.
    """
    query = metric_by_bucket(metric, entity, granularity)
    value = query.selects[1]
    value.set("this", exp.cast(value.this, exp.DataType.Type.BIGINT))
    return query.order_by(exp.column(BUCKET), copy=False)


SHAPES = {"series": metric_query, "buckets": bucket_values}


def render(
    query: exp.Expression, dialect: Dialect, *, pretty: bool = False
) -> tuple[str, tuple[str, ...]]:
    """SQL text for ``dialect`` and the request values' names in binding order.

    The tree is the same for every dialect; ``dialect`` renders markers and
    its own forms (``dialects.py``), and the binding order comes from the tree.
    """
    sql = dialect.generate(query, pretty=pretty)
    return sql, dialect.binding_order(query, sql)
