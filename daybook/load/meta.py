"""A record of each heartbeat load, kept outside ``raw`` in ``daybook_meta.heartbeat_loads``.

Why: ``int_heartbeats_deduplicated`` reads only raw heartbeats received near its
watermark. A file loaded later whose rows were received long before (an
out-of-order backfill) would be skipped by an incremental build; the model reads
this table to widen its window down to the oldest ``received_at_utc`` loaded
since its last run. Written in the load's own transaction, so a refused load
leaves no record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

META_SCHEMA = "daybook_meta"
HEARTBEAT_LOADS = f"{META_SCHEMA}.heartbeat_loads"

_CREATE = (
    f"create table if not exists {HEARTBEAT_LOADS} ("
    "load_id varchar(36) primary key, "
    "loaded_at_utc timestamp not null, "
    "rows_added bigint not null, "
    "min_received_at_utc timestamp, "
    "max_received_at_utc timestamp)"
)


def record_heartbeat_load(cur: Any, source: str, rows_added: int, backend: str) -> None:
    """Insert one row describing this load; ``source`` holds the loaded rows (stage or raw).

    The received range is taken over ``source``: for a merge that is every staged
    row, a superset of the rows added, which only widens the next build's window.
    ``loaded_at_utc`` is the clock just before commit, on the same (client) clock
    dbt's ``run_started_at`` uses, so a build that starts later sees this load.
    """
    cur.execute(f"create schema if not exists {META_SCHEMA}")
    cur.execute(_CREATE)
    cur.execute(f"select min(received_at_utc), max(received_at_utc) from {source}")
    low, high = cur.fetchone()
    marks = ", ".join(["?" if backend == "duckdb" else "%s"] * 5)
    cur.execute(
        f"insert into {HEARTBEAT_LOADS} (load_id, loaded_at_utc, rows_added, "
        f"min_received_at_utc, max_received_at_utc) values ({marks})",
        [
            str(uuid.uuid4()),
            datetime.now(UTC).replace(tzinfo=None),
            int(rows_added),
            low,
            high,
        ],
    )
