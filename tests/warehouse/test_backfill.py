"""An out-of-order backfill reaches the marts through an incremental build.

A first batch is loaded with ``daybook load``'s ``load_files`` (its readable ids
written as UUIDs, as the loader asks) and built; then a
second batch whose rows were received about 30 days before the first batch's
(far outside ``heartbeat_lookback_hours``) is loaded and built incrementally.
The marts must equal the reference over every raw row, as a full refresh would
give. No record of the load is needed: the build counts the raw rows received before
its read boundary, finds more than it recorded and reads all of raw
(``dbt_project/macros/heartbeat_reads.sql``). The loader writes nothing outside raw.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from support import with_uuid_ids

from daybook.build import run_build
from daybook.config import Warehouse
from daybook.load import load_files
from daybook.raw_schema import RAW_SCHEMA, RAW_TABLES, TIMESTAMP

from .scenario import PAIRS, batch1, expected_marts, heartbeat, query, read_marts

LOOKBACK = timedelta(hours=72)  # dbt_project.yml: heartbeat_lookback_hours
DT = datetime.fromisoformat


def backfill(first: dict[str, list[dict]]) -> list[dict]:
    """Heartbeats with new ids, received ~30 days before anything in ``first``."""
    rng = random.Random(20260202)
    oldest = min(row["received_at_utc"] for row in first["heartbeats"] if row["received_at_utc"])
    received_from = oldest - timedelta(days=30)
    beats = []
    for number in range(40):
        client, user, device = rng.choice(PAIRS)
        received = received_from + timedelta(seconds=rng.randrange(3 * 86400))
        if number % 2:  # a day batch 1 already built (agent clocks are not trusted)
            generated = DT("2026-03-05 00:00:00") + timedelta(seconds=rng.randrange(5 * 86400))
        else:  # a new, older day: dense spans reach back to it
            generated = received - timedelta(minutes=rng.randrange(1, 600))
        counts = tuple(rng.randrange(0, 20) for _ in range(5))
        beats.append(
            heartbeat(f"bf-{number:04d}", client, user, device, generated, received, counts)
        )
    # a duplicate inside the backfill: the earlier-received copy wins
    original = beats[3]
    beats.append(
        original
        | {
            "received_at_utc": original["received_at_utc"] - timedelta(minutes=5),
            "chrome_activity_count": 0,
            "total_activity_count": original["total_activity_count"]
            - original["chrome_activity_count"],
        }
    )
    # an invalid one reaches the quarantine
    beats.append(
        heartbeat(
            "bf-unknown-device",
            "c-ny",
            "u-ny-1",
            "d-nowhere",
            received_from,
            received_from + timedelta(hours=1),
        )
    )
    return beats


def write_parquet(path: Path, table: str, rows: list[dict]) -> Path:
    spec = RAW_TABLES[table]
    schema = pa.schema(
        [
            (
                name,
                pa.timestamp("us")
                if sql_type == TIMESTAMP
                else pa.float64()
                if sql_type == "double precision"
                else pa.string(),
            )
            for name, sql_type in spec.columns
        ]
    )
    pq.write_table(
        pa.Table.from_pylist([{name: row[name] for name in schema.names} for row in rows], schema),
        path,
    )
    return path


def raw_rows(warehouse: Warehouse) -> dict[str, list[dict]]:
    return {name: query(warehouse, f"select * from {RAW_SCHEMA}.{name}") for name in RAW_TABLES}


def test_an_out_of_order_backfill_is_built_incrementally(backend, make_warehouse, tmp_path):
    warehouse = make_warehouse(backend)
    first = {table: with_uuid_ids(rows) for table, rows in batch1().items()}
    for table, rows in first.items():
        load_files(warehouse, table, [write_parquet(tmp_path / f"{table}-1.parquet", table, rows)])
    assert run_build(warehouse).success

    late = with_uuid_ids(backfill(first))
    newest = max(row["received_at_utc"] for row in first["heartbeats"] if row["received_at_utc"])
    # the lookback window alone would never read these rows again
    assert max(row["received_at_utc"] for row in late) < newest - LOOKBACK
    result = load_files(
        warehouse, "heartbeats", [write_parquet(tmp_path / "backfill.parquet", "heartbeats", late)]
    )
    assert result.rows_added == len(late)
    # the loader keeps no record of its own (no model ever read one)
    assert (
        query(
            warehouse,
            "select table_name from information_schema.tables where table_name = 'heartbeat_loads'",
        )
        == []
    )

    incremental = run_build(warehouse)  # not a full refresh
    assert incremental.success, [node.name for node in incremental.failed_nodes]

    raw = raw_rows(warehouse)
    assert len(raw["heartbeats"]) == len(first["heartbeats"]) + len(late)
    expected = expected_marts(raw)
    actual = read_marts(warehouse)
    assert any((key[0] or "").startswith("bf-") for key in expected["quarantine"])
    assert actual["quarantine"] == expected["quarantine"]
    assert actual["activity"] == expected["activity"]
    assert actual["users"] == expected["users"]
    assert actual["devices"] == expected["devices"]


def inside_lookback(first: dict[str, list[dict]]) -> list[dict]:
    """Heartbeats received hours before the newest one of ``first`` (inside the lookback
    window, before the newest): new ids, and an earlier-received copy of a kept one."""
    rng = random.Random(20261204)
    newest = max(row["received_at_utc"] for row in first["heartbeats"] if row["received_at_utc"])
    beats = []
    for number in range(12):
        client, user, device = rng.choice(PAIRS)
        received = newest - timedelta(minutes=rng.randrange(30, 48 * 60))
        counts = tuple(rng.randrange(0, 20) for _ in range(5))
        beats.append(
            heartbeat(f"ol-{number:04d}", client, user, device, received, received, counts)
        )
    kept = next(
        row
        for row in sorted(first["heartbeats"], key=lambda row: str(row["heartbeat_id"]))
        if row["heartbeat_id"] and row["received_at_utc"] and row["generated_at_utc"]
    )
    beats.append(kept | {"received_at_utc": kept["received_at_utc"] - timedelta(seconds=1)})
    return beats


def test_a_delivery_loaded_out_of_order_inside_the_lookback_is_built_incrementally(
    backend, make_warehouse, tmp_path
):
    """A refresh reads raw from the newest heartbeat the previous run saw (the tight
    checkpoint); rows received before it but loaded after that run make the next run
    read from the lookback checkpoint instead, and the marts equal the reference."""
    warehouse = make_warehouse(backend)
    first = {table: with_uuid_ids(rows) for table, rows in batch1().items()}
    for table, rows in first.items():
        load_files(warehouse, table, [write_parquet(tmp_path / f"{table}-1.parquet", table, rows)])
    assert run_build(warehouse).success
    newest = max(row["received_at_utc"] for row in first["heartbeats"] if row["received_at_utc"])
    checkpoints = {
        row["state_id"]: row["boundary_utc"]
        for row in query(warehouse, "select * from daybook_meta.heartbeat_read_state")
    }
    assert checkpoints[3] == newest  # the next run would read only what is newer

    late = with_uuid_ids(inside_lookback(first))
    assert all(newest - LOOKBACK < row["received_at_utc"] < newest for row in late)
    load_files(
        warehouse, "heartbeats", [write_parquet(tmp_path / "late.parquet", "heartbeats", late)]
    )
    assert run_build(warehouse).success  # not a full refresh

    raw = raw_rows(warehouse)
    expected, actual = expected_marts(raw), read_marts(warehouse)
    assert expected["activity"] != expected_marts(first)["activity"]  # the late rows count
    for mart in ("activity", "quarantine", "users", "devices"):
        assert actual[mart] == expected[mart], mart
