"""Comments never reach a warehouse: YAML's SQL holding one is refused when parsed, and the
generator writes none, so a ``*/`` inside one cannot end it early and become SQL."""

from __future__ import annotations

import pytest
from sqlglot import exp

from daybook.semantic.dialects import DIALECTS
from daybook.semantic.expressions import parse_derived_expression, parse_expression


@pytest.mark.parametrize(
    "text",
    [
        "edge_activity_count -- */ + (select count(*) from fct_activity_daily) /*",
        "edge_activity_count /* */ + 1",
        "/* hidden */ edge_activity_count",
        "edge_activity_count; select 1",
    ],
)
def test_a_measure_expr_with_a_comment_or_a_second_statement_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"SQL comments|one expression only") as raised:
        parse_expression(text)
    assert repr(text) in str(raised.value), "the message names the expression"


def test_a_derived_expr_with_a_comment_is_refused() -> None:
    with pytest.raises(ValueError, match="SQL comments"):
        parse_derived_expression("cur - prev -- */ or 1=1", ("cur", "prev"))


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_no_dialect_writes_a_comment_a_tree_carries(dialect: str) -> None:
    column = exp.column("platform", table="j_device")
    column.add_comments([" */ ) OR (1=1 /* "])
    tree = (
        exp.select(exp.Count(this=exp.Star()))
        .from_("f")
        .where(column.eq(exp.Literal.string("mac")))
    )
    sql = DIALECTS[dialect].generate(tree)
    assert "/*" not in sql and "1=1" not in sql, sql
