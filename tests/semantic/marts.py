"""Stand-in marts for semantic-layer tests: the ARCHITECTURE.md column names, no dbt needed.

The compiler reads only the activity fact (its spine is generated in SQL), so
tests create that one table in a fresh DuckDB or PostgreSQL database and fill
it with random rows; a minimal dbt ``manifest.json`` documents the marts so the
loader's column checks run too. Mart names are read from ``semantic/entities.yml``
(plain YAML, not the code under test), the one place that names them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import yaml
from reference import SOURCES

_REGISTRY = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "semantic" / "entities.yml").read_text()
)
_SHARED = {mart["name"]: mart["model"] for mart in _REGISTRY["marts"]}
_ENTITY = {entity["name"]: entity for entity in _REGISTRY["entities"]}

FACT = _SHARED["activity"]
FACT_KEYS = ("client_id", "activity_date", "user_id", "device_id")
FACT_COLUMNS = (*FACT_KEYS, *SOURCES, "total_activity_count", "heartbeat_count")

# Model -> documented columns, as docs/ARCHITECTURE.md names them.
MART_COLUMNS: dict[str, tuple[str, ...]] = {
    _SHARED["dates"]: ("date_day",),
    _REGISTRY["tenant"]["model"]: ("client_id", "client_name", "timezone", "created_at"),
    _ENTITY["user"]["model"]: ("user_id", "client_id", "email", "display_name", "created_at"),
    _ENTITY["device"]["model"]: ("device_id", "client_id", "hostname", "platform", "created_at"),
    FACT: FACT_COLUMNS,
    _SHARED["quarantine"]: ("heartbeat_id", "client_id", "invalid_reasons"),
    _SHARED["freshness"]: ("client_id", "newest_received_at_utc"),
    _ENTITY["user"]["daily_model"]: (
        "client_id",
        "user_id",
        "activity_date",
        *SOURCES,
        "total_activity_count",
        "heartbeat_count",
        "device_count",
    ),
    _ENTITY["device"]["daily_model"]: (
        "client_id",
        "device_id",
        "activity_date",
        *SOURCES,
        "total_activity_count",
        "heartbeat_count",
        "user_count",
    ),
}

FactRow = tuple  # (client_id, activity_date, user_id, device_id, *five sources, total, heartbeats)


def write_manifest(path: Path, models: dict[str, Iterable[str]] = MART_COLUMNS) -> Path:
    """A minimal dbt ``manifest.json`` documenting ``models``; returns its path."""
    nodes = {
        f"model.daybook.{name}": {
            "resource_type": "model",
            "name": name,
            "columns": {column: {"name": column, "description": ""} for column in columns},
        }
        for name, columns in models.items()
    }
    path.write_text(json.dumps({"metadata": {}, "nodes": nodes}), encoding="utf-8")
    return path


def fact_ddl() -> list[str]:
    """DDL for the fact and the two indexes the API's queries rely on (portable SQL)."""
    counts = ", ".join(f"{column} bigint not null" for column in FACT_COLUMNS[4:])
    return [
        f"create table {FACT} (client_id varchar not null, activity_date date not null, "
        f"user_id varchar not null, device_id varchar not null, {counts})",
        f"create index fct_user_day on {FACT} (client_id, user_id, activity_date)",
        f"create index fct_device_day on {FACT} (client_id, device_id, activity_date)",
    ]


def replace_fact_rows(con, rows: list[FactRow], *, backend: str) -> None:
    """Empty the fact and insert ``rows`` (DuckDB through Arrow: its per-row inserts are slow)."""
    cursor = con.cursor()
    cursor.execute(f"delete from {FACT}")
    if not rows:
        return
    if backend == "duckdb":
        import pyarrow

        columns = {name: [row[i] for row in rows] for i, name in enumerate(FACT_COLUMNS)}
        con.register("incoming_fact_rows", pyarrow.table(columns))
        try:
            con.execute(f"insert into {FACT} select * from incoming_fact_rows")
        finally:
            con.unregister("incoming_fact_rows")
        return
    row_markers = "(" + ", ".join(["%s"] * len(FACT_COLUMNS)) + ")"
    values = ", ".join([row_markers] * len(rows))
    cursor.execute(f"insert into {FACT} values {values}", [v for row in rows for v in row])


def fact_row(
    client_id: str,
    day: date,
    user_id: str,
    device_id: str,
    sources: tuple[int, ...],
    heartbeats: int,
) -> FactRow:
    """One fact row with ``total_activity_count`` the sum of the five sources (a mart invariant)."""
    return (client_id, day, user_id, device_id, *sources, sum(sources), heartbeats)
