"""What raw held when the marts were last built: the refresh state.

``daybook build`` saves it after a successful build and ``daybook refresh`` reads and
saves it every cycle, so the first refresh after a build skips when nothing arrived.
Its own module so that :mod:`daybook.build.run` and :mod:`daybook.refresh` both import it
and the build never imports the refresh (which imports the build).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse
from daybook.raw_schema import RAW_TABLES, newest_received_sql
from daybook.refresh_sql import fingerprints_sql
from daybook.warehouse import connect

ENTITY_TABLES = tuple(name for name in RAW_TABLES if name != "heartbeats")


@dataclass(frozen=True)
class Arrivals:
    """What the raw tables hold beyond the previous cycle's high-water mark."""

    heartbeats: int
    local_days: int
    first_day: date | None
    last_day: date | None
    high_water: datetime | None
    entity_rows: dict[str, int]
    # every raw heartbeat row, whatever its received time: a row written straight into
    # raw with an old received time changes this and nothing else
    heartbeat_rows: int = 0
    # an order-independent hash of each entity table's rows: a re-delivered entity
    # replaces a row (same count, other content), which only this notices
    entity_fingerprints: dict[str, str] = field(default_factory=dict)


def _state_path(warehouse: Warehouse) -> Path:
    return warehouse.state_dir / "refresh.json"


def load_state(warehouse: Warehouse) -> dict[str, Any]:
    """The previous successful cycle's high-water mark and entity row counts."""
    try:
        return json.loads(_state_path(warehouse).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def save_state(warehouse: Warehouse, arrivals: Arrivals) -> None:
    """Record what the marts now include, so the next cycle builds only when raw moved."""
    write_json_atomically(
        _state_path(warehouse),
        {
            "high_water": arrivals.high_water.isoformat() if arrivals.high_water else None,
            "entity_rows": arrivals.entity_rows,
            "heartbeat_rows": arrivals.heartbeat_rows,
            "entity_fingerprints": arrivals.entity_fingerprints,
        },
    )


def raw_marks(warehouse: Warehouse) -> Arrivals:
    """What raw holds now (newest received time, row counts, entity fingerprints), with no
    per-day counting: taken by ``daybook build`` before dbt runs and saved after it
    succeeds, so the first refresh after a build (``daybook demo`` included) knows what
    the build included and skips when nothing arrived."""
    settle_raw_heartbeats(warehouse)
    with open_build_database(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(newest_received_sql("raw.heartbeats"))
        (newest,) = cursor.fetchone()
        marks = raw_fingerprints(cursor, warehouse.backend)
        if warehouse.backend == "postgres":
            con.rollback()
    return Arrivals(
        heartbeats=0,
        local_days=0,
        first_day=None,
        last_day=None,
        high_water=as_utc(newest),
        **marks,
    )


def settle_raw_heartbeats(warehouse: Warehouse) -> None:
    """On PostgreSQL, VACUUM ``raw.heartbeats`` so its pages are marked all-visible.

    Why: every refresh counts raw heartbeats by received time (here and in
    ``heartbeat_reads.sql``), nearly the whole history each time. Those counts are
    index-only scans only for pages the visibility map marks all-visible; on a table
    never vacuumed (a bulk load, autovacuum off or behind) each counted row is also a
    heap fetch, about seven times slower (1.3 s against 0.18 s per count at 2.5M
    rows). VACUUM visits only pages not yet all-visible, so after the first pass
    (``daybook build``) a refresh pays for the newly loaded pages alone. Rows written
    after it are still counted, just through the heap: only speed depends on it.
    ``skip_locked``: a load holding the table is not waited for. DuckDB, Spark: nothing.
    """
    if warehouse.backend != "postgres":
        return
    import psycopg

    with psycopg.connect(warehouse.pg_conninfo, autocommit=True) as con:
        exists = con.execute("select to_regclass('raw.heartbeats') is not null").fetchone()
        if exists and exists[0]:
            con.execute("vacuum (skip_locked) raw.heartbeats")


def raw_fingerprints(cursor: Any, backend: str) -> dict[str, Any]:
    """Raw heartbeat rows, and each entity table's row count and content fingerprint
    (the query, per dialect: :func:`daybook.refresh_sql.fingerprints_sql`)."""
    cursor.execute(fingerprints_sql(backend, ENTITY_TABLES))
    heartbeat_rows, *fingerprints = cursor.fetchone()
    return {
        "heartbeat_rows": int(heartbeat_rows),
        "entity_rows": {
            table: int(value.split(":", 1)[0])
            for table, value in zip(ENTITY_TABLES, fingerprints, strict=True)
        },
        "entity_fingerprints": dict(zip(ENTITY_TABLES, fingerprints, strict=True)),
    }


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def open_build_database(warehouse: Warehouse) -> Any:
    """Open the build database; on DuckDB :func:`daybook.warehouse.connect` waits while
    another process (a load) holds the file's lock, saying once which, as every writer does."""
    return contextlib.closing(connect(warehouse))
