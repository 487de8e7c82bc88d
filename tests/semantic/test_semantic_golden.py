"""Golden SQL per dialect: what the compiler emits for warehouses the tests cannot run.

DuckDB and PostgreSQL are executed by the property tests; Snowflake, BigQuery,
Spark/Databricks and Trino are checked here against reviewed files under
``golden/<dialect>/``, re-parsed by sqlglot in their dialect, and checked for
each dialect's traps. Regenerate after a deliberate change with
``DAYBOOK_UPDATE_GOLDEN=1 pytest tests/semantic/test_semantic_golden.py`` and
review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from daybook.semantic import DIALECTS, Catalog

GOLDEN_DIR = Path(__file__).parent / "golden"
CASES = [
    ("activity-count", "user", "daily"),
    ("activity-count", "user", "weekly"),
    ("user-count", "device", "weekly"),
    ("user-count", "device", "monthly"),
    ("device-count", "user", "quarterly"),
]
# The "buckets" shape (what the API runs) has its own files, ending ``.buckets.sql``.
KEYS = [
    (dialect, *case, shape)
    for dialect in DIALECTS
    for case in CASES
    for shape in ("series", "buckets")
]
NAMES = ("dialect", "metric", "entity", "granularity", "shape")


def golden_path(dialect: str, metric: str, entity: str, granularity: str, shape: str) -> Path:
    suffix = "" if shape == "series" else f".{shape}"
    return GOLDEN_DIR / dialect / f"{metric}.{entity}.{granularity}{suffix}.sql"


@pytest.mark.parametrize(NAMES, KEYS)
def test_compiled_sql_matches_the_golden_file(
    catalog: Catalog, dialect: str, metric: str, entity: str, granularity: str, shape: str
) -> None:
    query = catalog.compile(
        metric=metric, entity=entity, granularity=granularity, dialect=dialect, shape=shape
    )
    text = query.pretty_sql() + "\n"
    path = golden_path(dialect, metric, entity, granularity, shape)
    if os.environ.get("DAYBOOK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with DAYBOOK_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(NAMES, KEYS)
def test_compiled_sql_parses_back_in_its_dialect(
    catalog: Catalog, dialect: str, metric: str, entity: str, granularity: str, shape: str
) -> None:
    query = catalog.compile(
        metric=metric, entity=entity, granularity=granularity, dialect=dialect, shape=shape
    )
    parsed = sqlglot.parse_one(query.sql, read=dialect, error_level=ErrorLevel.RAISE)
    assert parsed.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    pretty = sqlglot.parse_one(query.pretty_sql(), read=dialect, error_level=ErrorLevel.RAISE)
    assert pretty == parsed  # the formatted text is the same query


# (dialect, granularity, fragments the compiled SQL must contain)
TRAPS = [
    # BigQuery's WEEK starts on Sunday; ISO weeks need WEEK(MONDAY).
    ("bigquery", "weekly", ["DATE_TRUNC(activity_date, WEEK(MONDAY))", "@tenant_id", "INT64"]),
    # Snowflake's DATE_TRUNC('WEEK') follows the session's WEEK_START: use the ISO weekday.
    ("snowflake", "weekly", ["DATEADD(DAY, 1 - DAYOFWEEKISO(activity_date), activity_date)", ":1"]),
    # PostgreSQL truncates a date to a timestamp: cast back to DATE.
    ("postgres", "weekly", ["CAST(DATE_TRUNC('WEEK', activity_date) AS DATE)", "%(entity_id)s"]),
    ("postgres", "quarterly", ["CAST(DATE_TRUNC('QUARTER', activity_date) AS DATE)"]),
    ("duckdb", "monthly", ["CAST(DATE_TRUNC('MONTH', activity_date) AS DATE)", "$tenant_id"]),
    ("spark", "weekly", ["TRUNC(activity_date, 'WEEK')", "SEQUENCE(", ":start_date"]),
    ("databricks", "monthly", ["TRUNC(activity_date, 'MONTH')", ":end_date"]),
    # Trino wants quoted interval quantities and binds positionally.
    ("trino", "daily", ["SEQUENCE(CAST(? AS DATE), CAST(? AS DATE), INTERVAL '1' DAY)"]),
]


@pytest.mark.parametrize(("dialect", "granularity", "fragments"), TRAPS)
def test_dialect_traps_are_handled(
    catalog: Catalog, dialect: str, granularity: str, fragments: list[str]
) -> None:
    sql = catalog.compile(
        metric="activity-count", entity="user", granularity=granularity, dialect=dialect
    ).sql
    for fragment in fragments:
        assert fragment in sql


def test_positional_dialects_bind_in_marker_order(catalog: Catalog) -> None:
    from datetime import date

    query = catalog.compile(
        metric="activity-count", entity="user", granularity="weekly", dialect="trino"
    )
    assert query.sql.count("?") == len(query.parameter_order) == 6
    params = query.parameters(
        tenant_id="t", entity_id="e", start_date=date(2026, 1, 1), end_date=date(2026, 1, 31)
    )
    # the spine binds the dates first, then the fact filter binds tenant, entity, dates
    assert params == (
        date(2026, 1, 1),
        date(2026, 1, 31),
        "t",
        "e",
        date(2026, 1, 1),
        date(2026, 1, 31),
    )
    positions = [m.start() for m in re.finditer(r"\?", query.sql)]
    assert query.sql.index("client_id = ?") + len("client_id = ") == positions[2]
