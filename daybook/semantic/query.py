"""A compiled metric query: SQL text plus the recipe for binding one request's values.

``render`` turns a metric's dialect-neutral tree into one dialect's text and binding
order; it lives here, beside the query it fills, so ``metric_sql`` (which builds the
trees) and ``CompiledQuery.pretty_sql`` share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlglot import exp

from daybook.semantic.calendar import bucket_starts
from daybook.semantic.dialects import Dialect
from daybook.semantic.errors import SemanticError


def render(
    query: exp.Expression, dialect: Dialect, *, pretty: bool = False
) -> tuple[str, tuple[str, ...]]:
    """SQL text for ``dialect`` and the request values' names in binding order.

    The tree is the same for every dialect; ``dialect`` renders markers and
    its own forms (``dialects.py``), and the binding order comes from the tree.
    """
    sql = dialect.generate(query, pretty=pretty)
    return sql, dialect.binding_order(query, sql)


@dataclass(frozen=True)
class CompiledQuery:
    """SQL for one (metric, entity, granularity, dialect); reused across requests.

    ``cursor.execute(query.sql, query.parameters(...)).fetchall()`` returns
    ``[(bucket_date: date, value: int), ...]``, oldest first. Shape ``"series"``:
    one row per bucket overlapping the range, zero where there was no activity.
    Shape ``"buckets"``: only the buckets holding rows (``calendar.fill`` makes
    them the series).
    """

    metric: str
    entity: str
    granularity: str
    dialect: Dialect
    sql: str
    parameter_order: tuple[str, ...]
    tree: exp.Expression = field(repr=False, compare=False)
    shape: str = "series"
    value_type: type = int  # int (counts, sums) or float (ratio, derived, average)
    empty: int | float | None = 0  # the value of a bucket the "buckets" shape leaves out

    def parameters(
        self, *, tenant_id: str, entity_id: str | None = None, start_date: date, end_date: date
    ) -> dict[str, Any] | tuple[Any, ...]:
        """The request's values in the form the dialect's driver takes (see ``dialects.py``).

        A dict for named markers (duckdb, postgres, bigquery, spark,
        databricks) holding only the values the SQL uses (a client-wide query binds
        no ``entity_id``), a tuple for positional ones (snowflake, trino).
        ``start_date`` after ``end_date`` is refused: the range would be empty.
        """
        if not isinstance(start_date, date) or not isinstance(end_date, date):
            raise SemanticError("start_date and end_date must be dates")
        if start_date > end_date:
            raise SemanticError(f"start_date {start_date} is after end_date {end_date}")
        values = {
            "tenant_id": str(tenant_id),
            "entity_id": None if entity_id is None else str(entity_id),
            "start_date": start_date,
            "end_date": end_date,
        }
        if entity_id is None and self.uses_entity:
            raise SemanticError(f"{self.metric} per {self.entity} needs an entity_id")
        if self.dialect.param_style == "named":
            return {name: values[name] for name in self.parameter_order}
        return tuple(values[name] for name in self.parameter_order)

    @property
    def uses_entity(self) -> bool:
        """Whether the SQL binds ``entity_id`` (a client-wide query does not)."""
        return any(node.name == "entity_id" for node in self.tree.find_all(exp.Placeholder))

    def fill(
        self, rows: Iterable[tuple[date, Any]], start: date, end: date
    ) -> list[tuple[date, int | float | None]]:
        """The rows of either shape as the whole series: every bucket of the range, oldest
        first, each value an int or a float (``value_type``) or None where there is none;
        a bucket the rows leave out is ``empty`` (0 for counts and sums)."""
        values = dict(rows)
        return [
            (bucket, self.convert(values[bucket]) if bucket in values else self.empty)
            for bucket in bucket_starts(start, end, self.granularity)
        ]

    def convert(self, value: Any) -> int | float | None:
        """A driver's value (int, Decimal, float or None) as this query's JSON number."""
        return None if value is None else self.value_type(value)

    def pretty_sql(self) -> str:
        """The same SQL formatted for people (``daybook sql``)."""
        return render(self.tree, self.dialect, pretty=True)[0]
