"""A cumulative leaf: the measure over each day's window, then one value per bucket.

The rows any window can reach are read once (``measure_rows``: the range's bounds
widened to the first window's start, on the fact's indexed columns). The days whose
value a bucket needs are its first or last in-range day, or all of them for
``period_agg: average`` (``QueryBuilder.pairs``, moved back by the leaf's offsets).

- In general each of those days is joined to the rows of its window and aggregated:
  ``rows.day <= day AND rows.day > day - window`` (or ``>= the grain's start``, or no
  lower bound for all history). A trailing 28-day distinct count thus joins each day
  with up to 28 days of rows.
- A distinct count over a trailing window of days (``7 days``, ``2 weeks``; the usual
  rolling active users) takes a cheaper, equal route: each value's active days are
  merged into *islands* (a new island where the gap to the previous active day is at
  least the window), an island ``[first, last]`` covers exactly the days
  ``first .. last + window - 1``, and one value's islands never overlap, so the distinct
  count on a day is the number of islands covering it: one join row per (day, value
  active in the window), not per (day, value, active day). It pays a sort of the rows,
  so it is taken when the value of every day is needed (daily grain, or
  ``period_agg: average``), not for one day per bucket.
"""

from __future__ import annotations

from typing import Protocol

from dbt_semantic_interfaces.type_enums import AggregationType
from sqlglot import exp

from daybook.semantic.metric_sql.nodes import (
    BUCKET,
    MEASURE,
    METRIC_DAY,
    VALUE,
    col,
    date_parameter,
    literal,
    shifted,
    table,
    truncated,
)
from daybook.semantic.metric_sql.plan import Leaf
from daybook.semantic.metric_sql.view import ManifestView


class QueryBuilder(Protocol):
    """What a cumulative leaf needs of ``sql.QueryBuilder`` (a protocol, so this module
    does not import the builder that imports it)."""

    view: ManifestView
    metric: str

    def source(self, leaf: Leaf, bounds: list) -> tuple[exp.Select, exp.Column, exp.Expression]: ...


def cumulative_leaf(builder: QueryBuilder, leaf: Leaf, empty) -> exp.Select:
    """The SELECT giving ``(bucket_date, metric_value)`` of a cumulative leaf."""
    window = leaf.window
    start = shifted(date_parameter("start_date"), leaf.offsets)
    end = shifted(date_parameter("end_date"), leaf.offsets)
    bounds = [lambda d: exp.LTE(this=d, expression=end.copy())]
    if window.shift is not None:
        lower = shifted(start, (window.shift,))
        bounds.append(lambda d: exp.GT(this=d, expression=lower.copy()))
    elif window.grain is not None:
        lower = truncated(start, window.grain)
        bounds.append(lambda d: exp.GTE(this=d, expression=lower.copy()))
    select, day, value = builder.source(leaf, bounds)
    agg = builder.view.measure(leaf.measure, metric=builder.metric).measure.agg
    distinct = agg is AggregationType.COUNT_DISTINCT
    rows_select = select.select(
        exp.alias_(day, METRIC_DAY), exp.alias_(value, MEASURE), copy=False
    ).distinct(distinct=distinct, copy=False)
    rows = builder.cte(("rows", leaf), "measure_rows", lambda: rows_select)
    pick = None if window.period_agg == "average" else window.period_agg
    pairs = builder.pairs(leaf.offsets, pick)
    this_day = col(METRIC_DAY, pairs)
    every_day = pick is None or builder.granularity == "daily"  # else one day per bucket
    if distinct and every_day and window.shift is not None and window.shift[1] == "DAY":
        islands = builder.cte(("islands", leaf), "islands", lambda: _islands(rows, window.shift))
        first, last = col("first_day", islands), col("last_day", islands)
        on = [
            exp.LTE(this=first, expression=this_day),
            exp.GT(this=last, expression=shifted(this_day.copy(), (window.shift,))),
        ]
        source, present = islands, col("first_day", islands)
        daily_value: exp.Expression = exp.Count(this=col(MEASURE, islands))
    else:
        row_day = col(METRIC_DAY, rows)
        on = [exp.LTE(this=row_day, expression=this_day)]
        if window.shift is not None:
            on.append(
                exp.GT(this=row_day.copy(), expression=shifted(this_day.copy(), (window.shift,)))
            )
        elif window.grain is not None:
            on.append(
                exp.GTE(this=row_day.copy(), expression=truncated(this_day.copy(), window.grain))
            )
        source, present = rows, col(METRIC_DAY, rows)
        daily_value = builder.aggregate(leaf, col(MEASURE, rows))
    if empty is not None:  # a day whose window holds no rows is the empty value
        no_rows = exp.EQ(this=exp.Count(this=present), expression=literal(0))
        daily_value = exp.Case(ifs=[exp.If(this=no_rows, true=literal(empty))], default=daily_value)
    daily = (
        exp.select(col(BUCKET, pairs), col(METRIC_DAY, pairs), exp.alias_(daily_value, VALUE))
        .from_(table(pairs), copy=False)
        .join(table(source), on=exp.and_(*on), join_type="left", copy=False)
        .group_by(col(BUCKET, pairs), col(METRIC_DAY, pairs), copy=False)
    )
    daily_name = builder.cte(("daily", leaf), "daily_values", lambda: daily)
    per_bucket = exp.Avg if window.period_agg == "average" else exp.Max
    return (
        exp.select(col(BUCKET), exp.alias_(per_bucket(this=col(VALUE)), VALUE))
        .from_(table(daily_name), copy=False)
        .group_by(col(BUCKET), copy=False)
    )


def _islands(rows: str, shift) -> exp.Select:
    """Per value, its runs of active days closer than the window: ``(measure_value,
    first_day, last_day)``."""

    def over(function: exp.Expression) -> exp.Window:
        return exp.Window(
            this=function,
            partition_by=[col(MEASURE)],
            # days are never null; NULLS FIRST is BigQuery's default, so every dialect can say it
            order=exp.Order(expressions=[exp.Ordered(this=col(METRIC_DAY), nulls_first=True)]),
        )

    previous = over(exp.Lag(this=col(METRIC_DAY)))
    same_island = exp.GT(this=previous, expression=shifted(col(METRIC_DAY), (shift,)))
    starts = exp.select(
        col(MEASURE),
        col(METRIC_DAY),
        exp.alias_(
            exp.Case(ifs=[exp.If(this=same_island, true=exp.Literal.number(0))]).else_(
                exp.Literal.number(1), copy=False
            ),
            "starts_island",
        ),
    ).from_(table(rows), copy=False)
    numbered = exp.select(
        col(MEASURE),
        col(METRIC_DAY),
        exp.alias_(over(exp.Sum(this=col("starts_island"))), "island"),
    ).from_(starts.subquery("island_starts", copy=False), copy=False)
    return (
        exp.select(
            col(MEASURE),
            exp.alias_(exp.Min(this=col(METRIC_DAY)), "first_day"),
            exp.alias_(exp.Max(this=col(METRIC_DAY)), "last_day"),
        )
        .from_(numbered.subquery("numbered_days", copy=False), copy=False)
        .group_by(col(MEASURE), col("island"), copy=False)
    )
