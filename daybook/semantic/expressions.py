"""Metric expressions: the small SQL a YAML file may carry, parsed and checked by sqlglot.

An expression is a column or simple arithmetic over columns (``a + b``,
``CASE WHEN ... THEN ... END``). Anything else (functions, sub-queries,
aggregates, string tricks) is refused at load time, so what reaches a warehouse
is only ever column identifiers from validated YAML combined by whitelisted
operators, and the result stays an integer on every dialect.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

# Node types an expression may contain. Division and modulo are left out on
# purpose: they break the integer result (and ``%`` clashes with psycopg markers).
ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Case,
    exp.If,
    exp.Coalesce,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Is,
)
# String literals are written into the SQL text (not bound), so they keep to characters
# no driver or dialect reads inside a literal: no quotes, backslashes, % (psycopg) or :
# (Spark's named markers). / and @ admit time zone names and e-mail addresses.
SAFE_STRING = re.compile(r"[A-Za-z0-9 _.\-/@]*")
SAFE_STRING_TEXT = "letters, digits, space and _ . - / @"
SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DESCRIPTION = "a column, integer literals, + - *, parentheses, CASE, COALESCE and comparisons"


def parse_one_expression(text: str) -> exp.Expression:
    """Parse YAML's SQL text as one expression: no comment, no second statement.

    Why comments are refused rather than dropped: sqlglot keeps a comment and writes it
    back out, and a comment holding ``*/`` ends early there, so the text after it (never
    checked, being a comment when parsed) would run as SQL. A ``;`` would let sqlglot
    parse the first statement and silently drop the rest. Raises ``ParseError`` (or
    ``ValueError`` for a comment or ``;``; its message leaves the text to the caller).
    """
    try:
        tokens = sqlglot.tokenize(text)
    except TokenError as error:
        raise ParseError(str(error)) from None
    for token in tokens:
        if token.comments:
            raise ValueError("SQL comments (-- or /* */) are not allowed")
        if token.token_type == TokenType.SEMICOLON:
            raise ValueError("one expression only, no ';'")
    return sqlglot.parse_one(text)


def _parsed(text: str) -> exp.Expression:
    """:func:`parse_one_expression`, every refusal a ``ValueError`` naming ``text``."""
    try:
        return parse_one_expression(text)
    except ParseError as error:
        first = error.errors[0]["description"] if error.errors else str(error)
        raise ValueError(f"cannot parse {text!r}: {first}") from None
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from None


def parse_expression(text: str, *, allow_star: bool = False) -> exp.Expression:
    """Parse and whitelist-check one metric expression; raise ``ValueError`` saying why not.

    ``allow_star`` admits a bare ``*``, meaningful only for ``count`` (rows).
    """
    text = text.strip()
    if allow_star and text == "*":
        return exp.Star()
    tree = _parsed(text)
    for node in tree.walk():
        if not isinstance(node, ALLOWED_NODES):
            kind = node.key.upper()
            raise ValueError(f"{text!r} uses {kind}, not allowed: use only {DESCRIPTION}")
        if isinstance(node, exp.Column) and node.table:
            raise ValueError(f"{text!r}: qualify no column with a table ({node.sql()})")
        if isinstance(node, exp.Column) and not SAFE_IDENTIFIER.fullmatch(node.name):
            raise ValueError(f"{text!r}: column names are letters, digits and _ ({node.name!r})")
        if (
            isinstance(node, exp.Literal)
            and node.is_string
            and not SAFE_STRING.fullmatch(node.this)
        ):
            raise ValueError(f"{text!r}: string literals may hold only {SAFE_STRING_TEXT}")
        if isinstance(node, exp.Literal) and node.is_number and not node.this.isdigit():
            raise ValueError(f"{text!r}: numeric literals must be whole numbers")
    return tree


def referenced_columns(tree: exp.Expression) -> list[str]:
    """Column names an expression reads, in order of first appearance."""
    seen: dict[str, None] = {}
    for column in tree.find_all(exp.Column):
        seen.setdefault(column.name, None)
    return list(seen)


# A derived metric's ``expr`` combines its input metrics per bucket: arithmetic with
# division (done in floating point), decimals, and the comparisons a CASE needs.
DERIVED_NODES: tuple[type[exp.Expression], ...] = (*ALLOWED_NODES, exp.Div, exp.Nullif, exp.Abs)


def parse_derived_expression(text: str, names: tuple[str, ...]) -> exp.Expression:
    """Parse a derived metric's ``expr`` over the input names ``names``; ``ValueError`` if not.

    Every column must be one of ``names`` (an input metric's alias or name); numbers may
    have decimals; ``/`` is allowed (the compiler divides in floating point and yields
    null for a zero divisor). Nothing else from ``DESCRIPTION`` is widened.
    """
    tree = _parsed(text.strip())
    for node in tree.walk():
        if not isinstance(node, DERIVED_NODES):
            raise ValueError(f"{text!r} uses {node.key.upper()}, not allowed in a derived expr")
        if isinstance(node, exp.Column) and (node.table or node.name not in names):
            raise ValueError(
                f"{text!r}: {node.sql()!r} is not one of its input metrics ({', '.join(names)})"
            )
        if isinstance(node, exp.Literal) and node.is_string:
            raise ValueError(f"{text!r}: string literals are not allowed in a derived expr")
    return tree
