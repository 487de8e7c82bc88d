"""The build's floor: one hand-written statement from ``raw`` to the daily activity facts.

Issue 14 judges the full build (every mart, the quarantine, dbt's data tests) as a
ratio to what the core work costs on the same engine and the same loaded data:
the earliest copy per heartbeat id (a window), the validity rule, the client-local
day (converted per row) and the sums, written as a table. Nothing clever on
purpose: it is the yardstick, not a second implementation to keep in step. Its
rows equal ``fct_activity_daily``'s on data without ties in ``received_at_utc``
between differing copies (``tests/bench/test_bench_floor.py`` checks that, so the
floor cannot drift into measuring less work than the build does).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from daybook.config import Warehouse
from daybook.warehouse import connection

FLOOR_SCHEMA = "bench_floor"
FLOOR_TABLE = f"{FLOOR_SCHEMA}.activity_daily"
SOURCES = ("chrome", "edge", "firefox", "desktop", "web_accessibility")
COUNTS = (*(f"{source}_activity_count" for source in SOURCES), "total_activity_count")
MAX_COUNT = 2_147_483_647
# The database's own zone catalogue (the validity rule's "known time zone").
ZONE_NAMES = {
    "duckdb": "select name from pg_timezone_names()",
    "postgres": "select name from pg_catalog.pg_timezone_names",
}


def floor_sql(backend: str) -> str:
    """The floor statement for ``backend`` (``duckdb`` or ``postgres``)."""
    count_checks = "\n        and ".join(
        f"h.{column} between 0 and {MAX_COUNT} and h.{column} = floor(h.{column})"
        for column in COUNTS
    )
    source_sum = " + ".join(f"h.{source}_activity_count" for source in SOURCES)
    sums = ",\n    ".join(f"sum(cast(h.{column} as bigint)) as {column}" for column in COUNTS)
    return f"""
create table {FLOOR_TABLE} as
with first_copies as (
    select *
    from (
        select
            heartbeats.*,
            row_number() over (
                partition by heartbeat_id order by received_at_utc
            ) as copy_rank
        from raw.heartbeats as heartbeats
        where heartbeat_id is not null
    ) as ranked
    where copy_rank = 1
)
select
    h.client_id,
    cast((h.generated_at_utc at time zone 'UTC') at time zone c.timezone as date)
        as activity_date,
    h.user_id,
    h.device_id,
    {sums},
    count(*) as heartbeat_count
from first_copies as h
join raw.clients as c on c.client_id = h.client_id
join raw.users as u on u.user_id = h.user_id and u.client_id = h.client_id
join raw.devices as d on d.device_id = h.device_id and d.client_id = h.client_id
where h.generated_at_utc is not null
    and c.timezone in ({ZONE_NAMES[backend]})
    and {count_checks}
    and h.total_activity_count = {source_sum}
group by 1, 2, 3, 4
"""


# DuckDB settings read back after the floor ran, so a report states what it ran under.
REPORTED_SETTINGS = ("memory_limit", "threads", "preserve_insertion_order", "temp_directory")


@dataclass(frozen=True)
class FloorResult:
    """How long the floor statement took, how many fact rows it wrote, and (DuckDB) the
    engine settings it ran under."""

    seconds: float
    rows: int
    settings: dict[str, str] = field(default_factory=dict)


def run_floor(warehouse: Warehouse, *, settings: Mapping[str, str] | None = None) -> FloorResult:
    """Run the floor on ``warehouse`` into ``bench_floor.activity_daily`` (replaced each run).

    ``settings`` (DuckDB only) are set on the connection first (``memory_limit``,
    ``threads``...): the floor must run under the limits the build runs under, or the
    ratio would compare a capped build with an uncapped yardstick.
    """
    with connection(warehouse) as con:
        cursor = con.cursor()
        if warehouse.backend == "duckdb":
            for name, value in (settings or {}).items():
                quoted = str(value).replace("'", "''")
                cursor.execute(f"set {name} = '{quoted}'")
        cursor.execute(f"drop schema if exists {FLOOR_SCHEMA} cascade")
        cursor.execute(f"create schema {FLOOR_SCHEMA}")
        con.commit()
        started = time.perf_counter()
        cursor.execute(floor_sql(warehouse.backend))
        con.commit()
        seconds = time.perf_counter() - started
        cursor.execute(f"select count(*) from {FLOOR_TABLE}")
        rows = int(cursor.fetchone()[0])
        return FloorResult(seconds=seconds, rows=rows, settings=_settings(cursor, warehouse))


def _settings(cursor: object, warehouse: Warehouse) -> dict[str, str]:
    """The DuckDB settings in force on ``cursor`` (nothing on PostgreSQL)."""
    if warehouse.backend != "duckdb":
        return {}
    values = {}
    for name in REPORTED_SETTINGS:
        cursor.execute(f"select current_setting('{name}')")  # type: ignore[attr-defined]
        values[name] = str(cursor.fetchone()[0])  # type: ignore[attr-defined]
    return values


def drop_floor(warehouse: Warehouse) -> None:
    """Remove the floor's table, so it never sits beside the marts a BI tool reads."""
    with connection(warehouse) as con:
        con.cursor().execute(f"drop schema if exists {FLOOR_SCHEMA} cascade")
        con.commit()
