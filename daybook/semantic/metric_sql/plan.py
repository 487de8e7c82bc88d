"""A dbt metric resolved into a small tree of what to compute: leaves, ratios, expressions.

MetricFlow's metric types nest (a derived metric over a ratio over simple metrics, each
input with its own filter and offset). Resolving walks that nesting once and pushes
everything that changes *which rows* a measure reads down to the measure: the filters
of every enclosing metric and metric input, the offsets of every enclosing input
(composed), and a cumulative metric's window. What is left above the leaves is only
arithmetic per bucket (``Ratio``, ``Derived``), so the SQL builder joins per-bucket
leaf values and never re-aggregates an aggregate (distinct counts stay exact).

Rules chosen where dbt leaves room (``semantic/README.md``, "Metric types"):

- An empty bucket of a ``sum``/``count``/``count_distinct``/``sum_boolean`` measure is 0
  (the contract's series are dense and zero-filled); of ``min``/``max``/``average`` it
  has no value (null) unless ``fill_nulls_with`` says otherwise. This does not depend
  on the entity: ``client`` differs only in binding no ``entity_id``. (The catalogue
  asks ``compile_metric`` for ``zero_fill`` on its simple metrics, so an unfiltered
  ``min``/``max`` one reads 0, the contract's integer for "no activity".)
- Ratio, derived and average values are floats; everything else stays an integer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbt_semantic_interfaces.type_enums import AggregationType, MetricType, PeriodAggregation
from sqlglot import exp

from daybook.semantic.errors import SemanticError
from daybook.semantic.expressions import parse_derived_expression, parse_expression
from daybook.semantic.metric_sql.view import ManifestView, MeasureSource

# A shift back in time: (count, "DAY" | "MONTH"); weeks are 7 days, quarters 3 months,
# years 12 months, so every dialect needs only two interval units.
Shift = tuple[int, str]
UNIT = {"day": (1, "DAY"), "week": (7, "DAY"), "month": (1, "MONTH"), "quarter": (3, "MONTH"),
        "year": (12, "MONTH")}  # fmt: skip
COUNT_LIKE = (
    AggregationType.SUM,
    AggregationType.COUNT,
    AggregationType.COUNT_DISTINCT,
    AggregationType.SUM_BOOLEAN,
)
SUPPORTED_AGGS = (*COUNT_LIKE, AggregationType.MIN, AggregationType.MAX, AggregationType.AVERAGE)
GRAINS = {"week": "WEEK", "month": "MONTH", "quarter": "QUARTER", "year": "YEAR"}
MAX_DEPTH = 16


def shift_of(count: int, granularity: str, *, metric: str, what: str) -> Shift:
    """``7 days`` -> ``(7, "DAY")``; ``1 year`` -> ``(12, "MONTH")``."""
    unit = UNIT.get(granularity.lower().removesuffix("s"))
    if unit is None:
        raise SemanticError(
            f"metric {metric}: {what} granularity {granularity!r} is not supported; "
            f"use one of {', '.join(UNIT)}"
        )
    return (count * unit[0], unit[1])


@dataclass(frozen=True)
class Window:
    """A cumulative measure's window: trailing ``shift``, ``grain`` to date, or all time."""

    shift: Shift | None
    grain: str | None  # WEEK, MONTH, QUARTER or YEAR (grain_to_date)
    period_agg: str  # first | last | average


@dataclass(frozen=True)
class Leaf:
    """One measure read with its filters, at days moved back by ``offsets``."""

    measure: str
    filters: tuple[str, ...]
    offsets: tuple[Shift, ...] = ()
    window: Window | None = None


@dataclass(frozen=True)
class LeafValue:
    leaf: Leaf
    empty: int | float | None  # the value of a bucket (or day) without rows
    is_int: bool


@dataclass(frozen=True)
class Ratio:
    numerator: Node
    denominator: Node
    is_int: bool = False


@dataclass(frozen=True)
class Derived:
    expression: exp.Expression = field(compare=False)
    inputs: dict[str, Node] = field(compare=False)
    is_int: bool = False


Node = LeafValue | Ratio | Derived


def templates(where) -> tuple[str, ...]:
    """The ``where_sql_template`` strings of a ``WhereFilterIntersection`` (or none)."""
    if where is None:
        return ()
    return tuple(f.where_sql_template.strip() for f in where.where_filters)


def resolve(
    view: ManifestView,
    name: str,
    *,
    filters: tuple[str, ...] = (),
    offsets: tuple[Shift, ...] = (),
    depth: int = 0,
) -> Node:
    """The tree of metric ``name`` with the enclosing ``filters`` and ``offsets`` applied."""
    if depth > MAX_DEPTH:
        raise SemanticError(f"metric {name}: metrics refer to each other in a cycle")
    metric = view.metric(name)
    filters = (*filters, *templates(metric.filter))
    params = metric.type_params
    if metric.type in (MetricType.SIMPLE, MetricType.CUMULATIVE):
        if params.measure is None:
            raise SemanticError(f"metric {name}: a {metric.type.value} metric needs a measure")
        source = view.measure(params.measure.name, metric=name)
        check_measure(source, metric=name)
        window = cumulative_window(metric) if metric.type is MetricType.CUMULATIVE else None
        agg = source.measure.agg
        leaf = Leaf(
            measure=source.measure_name,
            filters=tuple(sorted({*filters, *templates(params.measure.filter)})),
            offsets=offsets,
            window=window,
        )
        fill = params.measure.fill_nulls_with
        empty = fill if fill is not None else (0 if agg in COUNT_LIKE else None)
        is_int = agg is not AggregationType.AVERAGE and (
            window is None or window.period_agg != "average"
        )
        return LeafValue(leaf=leaf, empty=empty, is_int=is_int)
    if metric.type is MetricType.RATIO:
        if params.numerator is None or params.denominator is None:
            raise SemanticError(f"metric {name}: a ratio needs a numerator and a denominator")
        return Ratio(
            numerator=_input(view, name, params.numerator, filters, offsets, depth),
            denominator=_input(view, name, params.denominator, filters, offsets, depth),
        )
    if metric.type is MetricType.DERIVED:
        inputs = {
            item.alias or item.name: _input(view, name, item, filters, offsets, depth)
            for item in params.metrics or ()
        }
        if not inputs or not params.expr:
            raise SemanticError(f"metric {name}: a derived metric needs expr and metrics")
        try:
            tree = parse_derived_expression(params.expr, tuple(inputs))
        except ValueError as error:
            raise SemanticError(f"metric {name}: expr: {error}") from None
        return Derived(expression=tree, inputs=inputs)
    raise SemanticError(f"metric {name}: metric type {metric.type.value!r} is not supported")


def _input(view, parent: str, item, filters, offsets, depth) -> Node:
    """A ratio's or derived metric's input metric, with its own filter and offset."""
    if item.offset_to_grain:
        raise SemanticError(f"metric {parent}: offset_to_grain is not supported")
    shift = ()
    if item.offset_window is not None:
        window = item.offset_window
        shift = (shift_of(window.count, window.granularity, metric=parent, what="offset_window"),)
    return resolve(
        view,
        item.name,
        filters=(*filters, *templates(item.filter)),
        offsets=(*offsets, *shift),
        depth=depth + 1,
    )


def check_measure(source: MeasureSource, *, metric: str) -> None:
    """Refuse what the compiler does not implement, naming it."""
    measure = source.measure
    if measure.agg not in SUPPORTED_AGGS:
        valid = ", ".join(a.value for a in SUPPORTED_AGGS)
        raise SemanticError(
            f"metric {metric}: measure {measure.name} aggregation {measure.agg.value!r} "
            f"is not supported; use one of {valid}"
        )
    if measure.non_additive_dimension is not None:
        raise SemanticError(
            f"metric {metric}: measure {measure.name}: non_additive_dimension is not supported"
        )
    try:
        parse_expression(
            measure.expr or measure.name, allow_star=measure.agg is AggregationType.COUNT
        )
    except ValueError as error:
        raise SemanticError(f"metric {metric}: measure {measure.name} expr: {error}") from None


def cumulative_window(metric) -> Window:
    """The window of a cumulative metric (``cumulative_type_params`` or the legacy keys)."""
    params = metric.type_params
    cumulative = params.cumulative_type_params
    window = (cumulative.window if cumulative else None) or params.window
    grain = (cumulative.grain_to_date if cumulative else None) or (
        params.grain_to_date.value if params.grain_to_date else None
    )
    period = (cumulative.period_agg if cumulative else PeriodAggregation.FIRST).value
    if window is not None and grain is not None:
        raise SemanticError(f"metric {metric.name}: give window or grain_to_date, not both")
    shift = None
    if window is not None:
        shift = shift_of(window.count, window.granularity, metric=metric.name, what="window")
    grain_unit = None
    if grain is not None:
        grain_unit = GRAINS.get(str(grain).lower())
        if grain_unit is None:
            raise SemanticError(
                f"metric {metric.name}: grain_to_date {grain!r} is not supported; "
                f"use one of {', '.join(GRAINS)}"
            )
    return Window(shift=shift, grain=grain_unit, period_agg=period)


def leaves(node: Node) -> list[Leaf]:
    """Every leaf under ``node``, first appearance first."""
    if isinstance(node, LeafValue):
        return [node.leaf]
    children = (
        [node.numerator, node.denominator] if isinstance(node, Ratio) else node.inputs.values()
    )
    found: dict[Leaf, None] = {}
    for child in children:
        found.update(dict.fromkeys(leaves(child)))
    return list(found)
