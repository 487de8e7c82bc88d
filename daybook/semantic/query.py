"""A compiled metric query: SQL text plus the recipe for binding one request's values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlglot import exp

from daybook.semantic.compiler import render
from daybook.semantic.dialects import Dialect
from daybook.semantic.errors import SemanticError


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

    def parameters(
        self, *, tenant_id: str, entity_id: str, start_date: date, end_date: date
    ) -> dict[str, Any] | tuple[Any, ...]:
        """The request's values in the form the dialect's driver takes (see ``dialects.py``).

        A dict for named markers (duckdb, postgres, bigquery, spark,
        databricks), a tuple for positional ones (snowflake, trino).
        ``start_date`` after ``end_date`` is refused: the range would be empty.
        """
        if not isinstance(start_date, date) or not isinstance(end_date, date):
            raise SemanticError("start_date and end_date must be dates")
        if start_date > end_date:
            raise SemanticError(f"start_date {start_date} is after end_date {end_date}")
        values = {
            "tenant_id": str(tenant_id),
            "entity_id": str(entity_id),
            "start_date": start_date,
            "end_date": end_date,
        }
        if self.dialect.param_style == "named":
            return values
        return tuple(values[name] for name in self.parameter_order)

    def pretty_sql(self) -> str:
        """The same SQL formatted for people (``daybook sql``)."""
        return render(self.tree, self.dialect, pretty=True)[0]
