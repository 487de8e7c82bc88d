"""A resolved metric tree (``plan.py``) as one sqlglot query: a dense series of buckets.

Shape (``semantic/README.md``, "Metric types", shows each type's SQL):

- ``calendar_days``: every day of ``[start_date, end_date]``, generated in SQL;
  ``bucket_spine``: each bucket overlapping the range, once.
- One CTE per distinct leaf (measure + filters + offsets + window), giving a value per
  bucket, computed from the measure's rows at the bucket, never from other buckets:
  - plain: the fact grouped by the bucket of its day, read between the range's bounds;
  - offset: each in-range day ``d`` of a bucket paired with ``d - offset`` (distinct
    pairs, so a day is read once per bucket), the fact joined on the shifted day;
  - cumulative: the days whose value the bucket needs (its first or last in-range
    day, or all of them for ``period_agg: average``), each joined to the fact rows in
    its window (trailing interval, grain to date, or all history), aggregated per
    day, then per bucket. The read starts before ``start_date`` when the window does.
- The spine left-joined to every leaf; ratios and derived expressions are arithmetic
  over the joined values (floating point, a zero divisor gives null).

Every fact read filters the tenant key, the entity key (not for the tenant itself) and
the day column against bound parameters, on the fact's own columns, so the
``(client_id, <entity>_id, activity_date)`` indexes drive it; dimension filters join
their model on its key. No node depends on the dialect: ``dialects.py`` renders it.
"""

from __future__ import annotations

from dbt_semantic_interfaces.type_enums import AggregationType
from sqlglot import exp

from daybook.semantic.errors import SemanticError
from daybook.semantic.expressions import parse_expression
from daybook.semantic.metric_sql.cumulative import cumulative_leaf
from daybook.semantic.metric_sql.filters import FACT_ALIAS, render
from daybook.semantic.metric_sql.nodes import (
    BUCKET,
    DAY,
    DAYS,
    METRIC_DAY,
    SPINE,
    VALUE,
    as_float,
    bucket_start,
    col,
    date_parameter,
    day_series,
    divide,
    literal,
    shifted,
    table,
)
from daybook.semantic.metric_sql.nodes import parameter as marker
from daybook.semantic.metric_sql.plan import Derived, Leaf, LeafValue, Node, Ratio, Shift, leaves
from daybook.semantic.metric_sql.view import ManifestView


class QueryBuilder:
    """Collects the CTEs of one query; leaves shared by several inputs are built once."""

    def __init__(self, view: ManifestView, entity: str, granularity: str, metric: str):
        self.view, self.entity, self.granularity, self.metric = view, entity, granularity, metric
        self.ctes: list[tuple[str, exp.Select]] = []
        self.names: dict[object, str] = {}

    # --- shared pieces -------------------------------------------------------------------

    def cte(self, key: object, prefix: str, build) -> str:
        """The CTE for ``key``, built (and named ``prefix_<n>``) on first use."""
        if key not in self.names:
            select = build()  # first: the CTEs it needs are appended before it
            name = prefix if prefix in (DAYS, SPINE) else f"{prefix}_{len(self.ctes) + 1}"
            self.names[key] = name
            self.ctes.append((name, select))
        return self.names[key]

    def days(self) -> str:
        return self.cte(DAYS, DAYS, lambda: exp.select(col(DAY)).from_(day_series(), copy=False))

    def spine(self) -> str:
        days = self.days()
        bucket = bucket_start(col(DAY), self.granularity)
        return self.cte(
            SPINE,
            SPINE,
            lambda: (
                exp.select(exp.alias_(bucket, BUCKET))
                .from_(table(days), copy=False)
                .distinct(distinct=self.granularity != "daily", copy=False)
            ),
        )

    def pairs(self, shifts: tuple[Shift, ...], pick: str | None) -> str:
        """(bucket, metric day) for the in-range days: every distinct one, or only each
        bucket's first (``pick="first"``) or last in-range day, moved back by ``shifts``."""
        days = self.days()

        def build() -> exp.Select:
            bucket = bucket_start(col(DAY), self.granularity)
            if pick is None:
                return (
                    exp.select(
                        exp.alias_(bucket, BUCKET),
                        exp.alias_(shifted(col(DAY), shifts), METRIC_DAY),
                    )
                    .from_(table(days), copy=False)
                    .distinct(copy=False)
                )
            edge = exp.Min if pick == "first" else exp.Max
            window = exp.Window(this=edge(this=col(DAY)), partition_by=[bucket.copy()])
            inner = exp.select(
                exp.alias_(bucket.copy(), BUCKET),
                exp.alias_(shifted(col(DAY), shifts), METRIC_DAY),
                col(DAY),
                exp.alias_(window, "picked_day"),
            ).from_(table(days), copy=False)
            return (
                exp.select(col(BUCKET), col(METRIC_DAY))
                .from_(inner.subquery("candidates", copy=False), copy=False)
                .where(exp.EQ(this=col(DAY), expression=col("picked_day")), copy=False)
            )

        return self.cte(("pairs", shifts, pick), "metric_days", build)

    # --- one measure's rows ---------------------------------------------------------------

    def source(
        self, leaf: Leaf, bounds: list[exp.Expression]
    ) -> tuple[exp.Select, exp.Column, exp.Expression]:
        """``FROM model f [JOIN dims] WHERE tenant, entity, bounds, filters``; the day column
        and the measure's value expression (both on alias ``f``)."""
        view = self.view
        source = view.measure(leaf.measure, metric=self.metric)
        model = source.model
        tenant = view.scope_column(model, view.tenant_entity)
        if tenant is None:
            raise SemanticError(
                f"metric {self.metric}: semantic model {model.name} has no "
                f"{view.tenant_entity} entity, so its rows cannot be scoped to a tenant"
            )
        day = col(view.time_column(source, metric=self.metric), FACT_ALIAS)
        where = [exp.EQ(this=col(tenant, FACT_ALIAS), expression=marker("tenant_id"))]
        if self.entity != view.tenant_entity:
            key = view.scope_column(model, self.entity)
            if key is None:
                raise SemanticError(
                    f"Metric {self.metric} is not defined for entity {self.entity}: semantic "
                    f"model {model.name} has no {self.entity} entity"
                )
            where.append(exp.EQ(this=col(key, FACT_ALIAS), expression=marker("entity_id")))
        where += [bound(day.copy()) for bound in bounds]
        select = exp.select().from_(table(view.table(model), FACT_ALIAS), copy=False)
        joined: set[str] = set()
        for template in leaf.filters:
            condition, joins = render(view, model.name, template, metric=self.metric)
            for join in joins:
                if join.alias not in joined:
                    joined.add(join.alias)
                    on = exp.EQ(
                        this=col(join.key, join.alias), expression=col(join.fact_column, FACT_ALIAS)
                    )
                    select = select.join(
                        table(join.table, join.alias), on=on, join_type="inner", copy=False
                    )
            where.append(exp.paren(condition, copy=False))
        measure = source.measure
        value = parse_expression(
            measure.expr or measure.name, allow_star=measure.agg is AggregationType.COUNT
        )
        for column in value.find_all(exp.Column):
            column.set("table", exp.to_identifier(FACT_ALIAS))
        if measure.agg is AggregationType.SUM_BOOLEAN:
            value = exp.Case(
                ifs=[exp.If(this=value, true=exp.Literal.number(1))], default=exp.Literal.number(0)
            )
        return select.where(exp.and_(*where), copy=False), day, value

    def aggregate(self, leaf: Leaf, value: exp.Expression) -> exp.Expression:
        agg = self.view.measure(leaf.measure, metric=self.metric).measure.agg
        if agg in (AggregationType.SUM, AggregationType.SUM_BOOLEAN):
            return exp.Sum(this=value)
        if agg is AggregationType.COUNT:
            return exp.Count(this=value)
        if agg is AggregationType.COUNT_DISTINCT:
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if agg is AggregationType.MIN:
            return exp.Min(this=value)
        if agg is AggregationType.MAX:
            return exp.Max(this=value)
        return exp.Avg(this=value)

    # --- leaves --------------------------------------------------------------------------

    def leaf(self, leaf: Leaf, empty) -> str:
        if leaf.window is not None:
            return self.cte(leaf, "cumulative", lambda: self.cumulative(leaf, empty))
        return self.cte(leaf, "measure", lambda: self.at_buckets(leaf))

    def at_buckets(self, leaf: Leaf) -> exp.Select:
        """The measure per bucket over the in-range days (moved back by the offsets)."""
        start = shifted(date_parameter("start_date"), leaf.offsets)
        end = shifted(date_parameter("end_date"), leaf.offsets)
        bounds = [
            lambda d: exp.GTE(this=d, expression=start.copy()),
            lambda d: exp.LTE(this=d, expression=end.copy()),
        ]
        select, day, value = self.source(leaf, bounds)
        if not leaf.offsets:
            bucket = bucket_start(day, self.granularity)
            return select.select(
                exp.alias_(bucket, BUCKET),
                exp.alias_(self.aggregate(leaf, value), VALUE),
                copy=False,
            ).group_by(bucket.copy(), copy=False)
        pairs = self.pairs(leaf.offsets, None)
        on = exp.EQ(this=day.copy(), expression=col(METRIC_DAY, pairs))
        select = select.join(table(pairs), on=on, join_type="inner", copy=False)
        return select.select(
            col(BUCKET, pairs), exp.alias_(self.aggregate(leaf, value), VALUE), copy=False
        ).group_by(col(BUCKET, pairs), copy=False)

    def cumulative(self, leaf: Leaf, empty) -> exp.Select:
        """Per bucket: the window's value on its first/last in-range day, or their average
        (``cumulative.py``)."""
        return cumulative_leaf(self, leaf, empty)

    # --- values per bucket ----------------------------------------------------------------

    def value(self, node: Node) -> exp.Expression:
        """``node``'s value on a row of the spine joined to every leaf."""
        if isinstance(node, LeafValue):
            value = col(VALUE, self.leaf(node.leaf, node.empty))
            if node.empty is None:
                return value
            return exp.Coalesce(this=value, expressions=[literal(node.empty)])
        if isinstance(node, Ratio):
            return divide(
                as_float(self.value(node.numerator)), as_float(self.value(node.denominator))
            )
        assert isinstance(node, Derived)
        tree = exp.Paren(this=node.expression.copy())  # a parent even for a root division
        for division in reversed(list(tree.find_all(exp.Div))):  # innermost first
            division.replace(divide(division.this, division.expression))
        inputs = {name: as_float(self.value(child)) for name, child in node.inputs.items()}
        for column in list(tree.find_all(exp.Column)):
            column.replace(exp.paren(inputs[column.name].copy(), copy=False))
        return tree


def is_int(node: Node) -> bool:
    return isinstance(node, LeafValue) and node.is_int


def value_type(node: Node) -> exp.DataType.Type:
    """The SQL type of a metric's values: integers for counts and sums, else doubles (a
    ratio, derived or average value, whatever a bucket without rows is filled with)."""
    return exp.DataType.Type.BIGINT if is_int(node) else exp.DataType.Type.DOUBLE


def series_query(builder: QueryBuilder, node: Node, column: str) -> exp.Select:
    """Every bucket overlapping the range with the metric's value, oldest first."""
    spine = builder.spine()
    value = exp.cast(builder.value(node), value_type(node))
    query = exp.select(col(BUCKET, spine), exp.alias_(value, column)).from_(
        table(spine), copy=False
    )
    for leaf in leaves(node):
        name = builder.names[leaf]
        on = exp.EQ(this=col(BUCKET, name), expression=col(BUCKET, spine))
        query = query.join(table(name), on=on, join_type="left", copy=False)
    for name, select in builder.ctes:
        query = query.with_(name, as_=select, copy=False)
    return query.order_by(col(BUCKET, spine), copy=False)


def buckets_query(builder: QueryBuilder, node: LeafValue, column: str) -> exp.Select:
    """Only the buckets holding rows of a plain leaf, oldest first, in its value type."""
    select = builder.at_buckets(node.leaf)
    value = select.selects[1]
    value.set("this", exp.cast(value.this, value_type(node)))
    for name, cte in builder.ctes:
        select = select.with_(name, as_=cte, copy=False)
    return select.order_by(col(BUCKET), copy=False)
