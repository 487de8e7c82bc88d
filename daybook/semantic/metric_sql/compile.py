"""The entry point: one dbt metric, one entity, one granularity, one dialect -> CompiledQuery.

``compile_metric(view, "chrome_share", "device", "weekly", "postgres")`` resolves the
metric (``plan.py``), builds its query (``sql.py``) and renders it for the dialect
(``dialects.py``). It is the only compiler: the catalogue (``Catalog.compile``) sends
every metric through it, simple ones included, for every entity, shape and dialect.
The result is pure: callers cache it per key, so a request costs a dictionary look-up
and a parameter bind.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot.errors import UnsupportedError

from daybook.semantic.calendar import GRANULARITIES
from daybook.semantic.dialects import get_dialect
from daybook.semantic.errors import SemanticError
from daybook.semantic.metric_sql.plan import LeafValue, Node, leaves, resolve
from daybook.semantic.metric_sql.sql import QueryBuilder, buckets_query, is_int, series_query
from daybook.semantic.metric_sql.view import ManifestView
from daybook.semantic.query import CompiledQuery, render

SHAPES = ("series", "buckets")


def metric_entities(view: ManifestView, metric: str) -> tuple[str, ...]:
    """The entities ``metric`` can be asked about: those every semantic model it reads
    has (the tenant entity included), in the first model's entity order."""
    node = resolve(view, metric)
    models = [view.measure(leaf.measure, metric=metric).model for leaf in leaves(node)]
    if any(view.entity_column(model, view.tenant_entity) is None for model in models):
        return ()
    names = [entity.name for entity in models[0].entities]
    return tuple(n for n in names if all(view.entity_column(m, n) is not None for m in models))


def check_metric(view: ManifestView, metric: str) -> Node:
    """Resolve ``metric`` and render its filters once, so a bad definition fails at load
    time with the metric and the nearest valid names (dbt does not check filter names)."""
    node = resolve(view, metric)
    builder = QueryBuilder(view, view.tenant_entity, "daily", metric)
    series_query(builder, node, "value")
    return node


def compile_metric(
    view: ManifestView,
    metric: str,
    entity: str,
    granularity: str,
    dialect: str,
    *,
    shape: str = "series",
    zero_fill: bool = False,
) -> CompiledQuery:
    """The SQL of ``metric`` per ``entity`` (``user``, ``device`` or the tenant ``client``)
    at ``granularity`` in ``dialect``: bound parameters ``tenant_id``, ``entity_id``
    (not for the tenant), ``start_date``, ``end_date``; rows ``(bucket_date, value)``.

    ``shape="series"``: every bucket of the range, in SQL. ``shape="buckets"``: for a
    plain simple metric, only the buckets holding rows (``CompiledQuery.fill`` completes
    the series); any other metric needs the spine and gets the series query.

    ``zero_fill``: an integer metric that is one measure at the root (no window) reads 0
    in a bucket without rows even where dbt's rule says null (``min``/``max``, see
    ``plan.py``). The catalogue asks for it for its simple metrics, whose empty buckets
    the contract makes 0 on every endpoint (an integer "0 where there was no activity"),
    as they always were; the dbt-faithful default stays for everything else.
    """
    if granularity not in GRANULARITIES:
        raise SemanticError(
            f"Unknown granularity: {granularity}. Valid values: {', '.join(GRANULARITIES)}"
        )
    if shape not in SHAPES:
        raise SemanticError(f"Unknown shape: {shape}. Valid values: {', '.join(SHAPES)}")
    target = get_dialect(dialect)
    node = resolve(view, metric)
    if zero_fill and isinstance(node, LeafValue) and node.is_int and node.leaf.window is None:
        node = replace(node, empty=0 if node.empty is None else node.empty)
    builder = QueryBuilder(view, entity, granularity, metric)
    column = metric.replace("-", "_")
    plain = (
        isinstance(node, LeafValue)
        and node.leaf.window is None
        and not node.leaf.offsets
        and node.empty == 0
    )
    if shape == "buckets" and plain:
        tree = buckets_query(builder, node, column)
    else:
        tree = series_query(builder, node, column)
    try:
        sql, order = render(tree, target)
    except (UnsupportedError, ValueError) as error:
        raise SemanticError(f"Metric {metric} cannot be compiled for {dialect}: {error}") from None
    return CompiledQuery(
        metric=metric,
        entity=entity,
        granularity=granularity,
        dialect=target,
        sql=sql,
        parameter_order=order,
        tree=tree,
        shape=shape,
        value_type=int if is_int(node) else float,
        empty=_empty_value(node),
    )


def _empty_value(node: Node) -> int | float | None:
    """A bucket's value where the buckets query has no row: the leaf's fill, a float for a
    metric of numbers (an average filled with 0 is 0.0, as the series query gives)."""
    if not isinstance(node, LeafValue) or node.empty is None:
        return None
    return node.empty if is_int(node) else float(node.empty)
