"""Small SQL and time helpers shared by the serving modules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _duckdb_has(con: Any, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _columns(con: Any, catalog: str, table: str) -> list[str]:
    """Column names of ``<catalog>.main.<table>`` in order ("main": the build database)."""
    if catalog == "main":
        catalog = con.execute("select current_database()").fetchone()[0]
    rows = con.execute(
        "select column_name from information_schema.columns where table_catalog = ? "
        "and table_schema = 'main' and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()
    return [row[0] for row in rows]


def _postgres_has(con: Any, schema: str, table: str) -> bool:
    cursor = con.cursor()
    cursor.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',))
    row = cursor.fetchone()
    return bool(row and row[0])


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise TypeError(f"unexpected freshness value {value!r}")


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _as_utc(value).isoformat()


def _parse_iso(value: str | None) -> datetime | None:
    return None if value is None else _as_utc(datetime.fromisoformat(value))
