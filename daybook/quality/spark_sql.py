"""The suites' batch queries, written for DuckDB and PostgreSQL, as Spark SQL.

Why a translation rather than a third spelling in every suite: a suite file stays one
query a data engineer reviews (``expectations/README.md``). sqlglot reads it as
PostgreSQL and writes Spark SQL (``double precision`` becomes ``DOUBLE``, ``varchar``
``STRING``, ``timestamp '...'`` a cast); one construct it cannot know how to translate
without types is rewritten here:

- ``x <> floor(x)`` ("x has a fractional part"). Spark's ``floor`` returns a bigint and,
  in ANSI mode, fails the whole query on a value beyond the bigint range (1e300), where
  DuckDB and PostgreSQL return the value itself. Spark tests the remainder instead, as
  dbt's ``spark__is_integral`` does; NaN and infinity have a NaN remainder, and are not
  fractional on the other backends either (each suite tests them on their own).
"""

from __future__ import annotations

from typing import Any

from daybook.cli_errors import first_line
from daybook.quality.suites import SuiteFileError

SOURCE_DIALECT = "postgres"


class SparkTranslationError(SuiteFileError):
    """A batch query sqlglot cannot read or write for Spark (the check cannot run: exit 2)."""


def _is_fractional(value: Any) -> Any:
    """``value % 1`` is a number other than zero (neither NaN nor zero)."""
    from sqlglot import exp

    remainder = exp.Paren(this=exp.Mod(this=value.copy(), expression=exp.Literal.number(1)))
    return exp.Paren(
        this=exp.and_(
            exp.Not(this=exp.func("isnan", remainder.copy())),
            exp.NEQ(this=remainder, expression=exp.Literal.number(0)),
        )
    )


def _rewrite(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.NEQ | exp.EQ):
        left, right = node.this, node.expression
        for value, other in ((left, right), (right, left)):
            if isinstance(other, exp.Floor) and other.this == value and not other.expression:
                fractional = _is_fractional(value)
                return fractional if isinstance(node, exp.NEQ) else exp.Not(this=fractional)
    return node


def to_spark(query: str) -> str:
    """``query`` (one SELECT, DuckDB/PostgreSQL SQL) as Spark SQL."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        statements = sqlglot.parse(query, read=SOURCE_DIALECT)
    except SqlglotError as exc:
        raise SparkTranslationError(
            f"cannot read the batch query: {first_line(exc, limit=200)}"
        ) from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise SparkTranslationError(f"a batch query is one statement, not {len(statements)}")
    return statements[0].transform(_rewrite).sql(dialect="spark", pretty=True)
