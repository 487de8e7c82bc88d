"""Golden SQL for the warehouses the tests cannot run: one reviewed file per distinct output.

DuckDB and PostgreSQL have no golden files: the property tests execute their
SQL against the plain-Python reference, which checks more than text could.
Snowflake, BigQuery, Spark/Databricks and Trino are checked here against
reviewed files under ``golden/<dialects>/``, one folder per distinct output
named by the dialects that share it (Spark and Databricks render the same
SQL, so they share ``spark+databricks``), re-parsed by sqlglot in their
dialect, and checked for each dialect's traps. Spark's SQL is executed as well, on a
local Spark Connect server against the same references (``test_semantic_on_spark.py``);
its golden files stay as the reviewed text Databricks shares. Regenerate after a deliberate
change with ``DAYBOOK_UPDATE_GOLDEN=1 pytest tests/semantic/test_semantic_golden.py``
and review the diff.
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
EXECUTED = ("duckdb", "postgres")  # by test_semantic_properties.py, against the reference
GOLDEN_GROUPS = {"bigquery": ("bigquery",), "snowflake": ("snowflake",), "trino": ("trino",)}
GOLDEN_GROUPS["spark+databricks"] = ("spark", "databricks")
CASES = [
    ("activity-count", "user", "daily"),
    ("activity-count", "user", "weekly"),
    ("user-count", "device", "weekly"),
    ("user-count", "device", "monthly"),
    ("device-count", "user", "quarterly"),
]
SHAPES = ("series", "buckets")  # "buckets" (what the API runs) files end ``.buckets.sql``
GOLDEN_KEYS = [
    (group, *case, shape) for group in GOLDEN_GROUPS for case in CASES for shape in SHAPES
]
KEYS = [(dialect, *case, shape) for dialect in DIALECTS for case in CASES for shape in SHAPES]
NAMES = ("dialect", "metric", "entity", "granularity", "shape")


def golden_path(group: str, metric: str, entity: str, granularity: str, shape: str) -> Path:
    suffix = "" if shape == "series" else f".{shape}"
    return GOLDEN_DIR / group / f"{metric}.{entity}.{granularity}{suffix}.sql"


def test_every_dialect_is_executed_or_has_golden_files() -> None:
    grouped = [dialect for group in GOLDEN_GROUPS.values() for dialect in group]
    assert sorted([*EXECUTED, *grouped]) == sorted(DIALECTS)
    assert sorted(path.name for path in GOLDEN_DIR.iterdir()) == sorted(GOLDEN_GROUPS)


@pytest.mark.parametrize(("group", "metric", "entity", "granularity", "shape"), GOLDEN_KEYS)
def test_compiled_sql_matches_the_golden_file(
    catalog: Catalog, group: str, metric: str, entity: str, granularity: str, shape: str
) -> None:
    """Every dialect of the group renders exactly the group's reviewed file."""
    path = golden_path(group, metric, entity, granularity, shape)
    for dialect in GOLDEN_GROUPS[group]:
        query = catalog.compile(
            metric=metric, entity=entity, granularity=granularity, dialect=dialect, shape=shape
        )
        text = query.pretty_sql() + "\n"
        if os.environ.get("DAYBOOK_UPDATE_GOLDEN") == "1" and dialect == GOLDEN_GROUPS[group][0]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.is_file(), f"missing golden file {path}; run with DAYBOOK_UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8"), dialect


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
    ("bigquery", "weekly", ["DATE_TRUNC(f.activity_date, WEEK(MONDAY))", "@tenant_id", "INT64"]),
    # Snowflake's DATE_TRUNC('WEEK') follows the session's WEEK_START: use the ISO weekday.
    (
        "snowflake",
        "weekly",
        ["DATEADD(DAY, 1 - DAYOFWEEKISO(f.activity_date), f.activity_date)", ":1"],
    ),
    # DuckDB and PostgreSQL traps (a truncated date is a timestamp) are caught by execution.
    # PostgreSQL truncates a date to a timestamp: cast back to DATE.
    ("spark", "weekly", ["TRUNC(f.activity_date, 'WEEK')", "SEQUENCE(", ":start_date"]),
    ("databricks", "monthly", ["TRUNC(f.activity_date, 'MONTH')", ":end_date"]),
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
