"""Five minutes of new heartbeats for existing users and devices, as a Parquet file.

The incremental-refresh measurement needs deliveries that look like the next
five minutes of the same system: the history's own delivery rate, from user-
device pairs that already exist, received just after the newest heartbeat.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from daybook.config import Warehouse
from daybook.raw_schema import SOURCE_COUNT_COLUMNS

WINDOW = timedelta(minutes=5)
PAIR_SAMPLE = 5_000


def _query(warehouse: Warehouse, sql: str) -> list[tuple]:
    from daybook.bench.served import served_rows

    return served_rows(warehouse, sql)


def history_profile(warehouse: Warehouse) -> dict[str, Any]:
    """Active pairs, the delivery window and the rate of the built history.

    Read from the registry's activity fact, whose grain holds the heartbeats' own
    client, user and device ids (the raw contract's names, which the new rows use).
    """
    from daybook.semantic.loader import load_registry

    registry = load_registry(check_manifest=False)
    activity, day = registry.activity.model, registry.day_column
    pairs = _query(
        warehouse,
        f"select client_id, user_id, device_id from {activity} "
        f"group by client_id, user_id, device_id order by client_id, user_id limit {PAIR_SAMPLE}",
    )
    days, heartbeats, last_day = _query(
        warehouse,
        f"select count(distinct {day}), sum(heartbeat_count), max({day}) from {activity}",
    )[0]
    return {"pairs": pairs, "days": int(days), "heartbeats": int(heartbeats), "last_day": last_day}


def write_arrivals(
    warehouse: Warehouse,
    out: Path,
    *,
    after: datetime | None = None,
    seed: int = 11,
    count: int | None = None,
) -> tuple[Path, int]:
    """Write the next five minutes of heartbeats (received after ``after``, default: after the
    newest served heartbeat); return the path and the row count.

    ``count`` defaults to the history's average five-minute volume times three
    (activity is concentrated in working hours, so a busy five minutes).
    """
    profile = history_profile(warehouse)
    if count is None:
        per_five_minutes = profile["heartbeats"] / max(1, profile["days"]) / (24 * 12)
        count = max(50, round(per_five_minutes * 3))
    if after is None:
        from daybook.bench.served import newest_served

        after = newest_served(warehouse)
        assert after is not None, "the warehouse has no heartbeats yet"
    rng = np.random.default_rng(seed)
    pairs = profile["pairs"]
    chosen = [pairs[i] for i in rng.integers(0, len(pairs), size=count)]
    after = after.replace(tzinfo=None)
    received = [after + timedelta(seconds=float(s)) for s in rng.uniform(1, 300, size=count)]
    generated = [
        moment - timedelta(seconds=float(s))
        for moment, s in zip(received, rng.uniform(0, 60, size=count), strict=True)
    ]
    counts = rng.integers(0, 12, size=(count, len(SOURCE_COUNT_COLUMNS))).astype("float64")
    columns: dict[str, Any] = {
        "heartbeat_id": [str(uuid.uuid4()) for _ in range(count)],
        "client_id": [pair[0] for pair in chosen],
        "user_id": [pair[1] for pair in chosen],
        "device_id": [pair[2] for pair in chosen],
        "generated_at_utc": pa.array(generated, pa.timestamp("us")),
        "received_at_utc": pa.array(received, pa.timestamp("us")),
    }
    for index, name in enumerate(SOURCE_COUNT_COLUMNS):
        columns[name] = counts[:, index]
    columns["total_activity_count"] = counts.sum(axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), out)
    return out, count
