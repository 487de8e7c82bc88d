"""``load_files`` on both backends: what the files hold is what raw holds, loading again adds
nothing, re-deliveries follow the contract's merge rules, values survive exactly.

Expected rows are read from the files with pyarrow and the csv module (``load.rows``).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from daybook.load import load_files
from daybook.raw_schema import RAW_TABLES
from load.rows import TABLES, bag, counts, file_rows, load_all, table_rows, write_csv


def test_round_trip_equals_the_files_rows(empty_warehouse, generated):
    results = load_all(empty_warehouse, generated)
    for table in TABLES:
        expected = file_rows(table, generated[table])
        assert bag(table_rows(empty_warehouse, table)) == bag(expected), table
        assert results[table].rows_read == len(expected)
        assert results[table].rows_added == len(expected)
        assert results[table].table == table
        assert list(results[table].files) == list(generated[table])


def test_loading_the_same_files_twice_adds_nothing(empty_warehouse, csv_files):
    load_all(empty_warehouse, csv_files)
    before = counts(empty_warehouse)
    again = load_all(empty_warehouse, csv_files)
    assert counts(empty_warehouse) == before
    assert all(result.rows_added == 0 for result in again.values())
    assert again["heartbeats"].rows_read == before["heartbeats"]


def test_a_redelivered_heartbeat_with_a_later_received_at_is_kept(empty_warehouse, tmp_path):
    spec = RAW_TABLES["heartbeats"]
    row = {
        "heartbeat_id": "0b0c1d2e-3f40-4152-8364-a5b6c7d8e9f0",
        "client_id": "aa7cf840-9ca9-46a3-9778-9015d6580d50",
        "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
        "device_id": "f1e2d3c4-b5a6-7890-abcd-ef1234567890",
        "generated_at_utc": "2026-01-05 14:00:00",
        "received_at_utc": "2026-01-05 14:00:05",
        **{name: "1" for name in spec.column_names[6:11]},
        "total_activity_count": "5",
    }
    first = write_csv(tmp_path / "first.csv", list(spec.column_names), [row])
    second = write_csv(
        tmp_path / "second.csv",
        list(spec.column_names),
        [row, {**row, "received_at_utc": "2026-01-07 09:30:00.25"}],
    )
    assert load_files(empty_warehouse, "heartbeats", [first]).rows_added == 1
    assert load_files(empty_warehouse, "heartbeats", [second]).rows_added == 1
    received = sorted(r[5] for r in table_rows(empty_warehouse, "heartbeats"))
    assert received == [datetime(2026, 1, 5, 14, 0, 5), datetime(2026, 1, 7, 9, 30, 0, 250000)]


def test_entity_rows_are_upserted_by_key(empty_warehouse, tmp_path):
    columns = list(RAW_TABLES["users"].column_names)
    user = {
        "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
        "client_id": "aa7cf840-9ca9-46a3-9778-9015d6580d50",
        "email": "ana@example.com",
        "display_name": "Ana",
        "created_at": "2025-01-01 08:00:00",
    }
    other = {**user, "user_id": "11111111-2222-4333-8444-555555555555", "display_name": "Ben"}
    load_files(empty_warehouse, "users", [write_csv(tmp_path / "a.csv", columns, [user, other])])
    renamed = write_csv(tmp_path / "b.csv", columns, [{**user, "display_name": "Ana Lopez"}])
    result = load_files(empty_warehouse, "users", [renamed])
    assert result.rows_added == 0
    names = sorted(row[3] for row in table_rows(empty_warehouse, "users"))
    assert names == ["Ana Lopez", "Ben"]


def test_columns_may_come_in_any_order(empty_warehouse, tmp_path):
    columns = list(reversed(RAW_TABLES["clients"].column_names))
    row = {
        "client_id": "aa7cf840-9ca9-46a3-9778-9015d6580d50",
        "name": 'Northwind, "Logistics"',
        "timezone": "Asia/Kolkata",
        "created_at": "2024-03-31 01:30:00",
    }
    load_files(empty_warehouse, "clients", [write_csv(tmp_path / "c.csv", columns, [row])])
    assert table_rows(empty_warehouse, "clients") == [
        (row["client_id"], row["name"], "Asia/Kolkata", datetime(2024, 3, 31, 1, 30))
    ]


def test_fractional_and_negative_counts_load_for_quarantine(empty_warehouse, tmp_path):
    spec = RAW_TABLES["heartbeats"]
    row = {name: "" for name in spec.column_names}
    row.update(
        heartbeat_id="0b0c1d2e-3f40-4152-8364-a5b6c7d8e9f1",
        received_at_utc="2026-01-05 14:00:05",
        chrome_activity_count="2.5",
        edge_activity_count="-1",
    )
    load_files(empty_warehouse, "heartbeats", [write_csv(tmp_path / "h.csv", list(row), [row])])
    (loaded,) = table_rows(empty_warehouse, "heartbeats")
    assert loaded[6:8] == (2.5, -1.0)
    assert loaded[1] is None and loaded[4] is None


def test_the_same_file_named_twice_in_one_call_is_loaded_once(empty_warehouse, csv_files):
    path = csv_files["devices"][0]
    result = load_files(empty_warehouse, "devices", [path, Path(str(path))])
    assert result.rows_added == len(file_rows("devices", [path]))


def test_zoned_parquet_timestamps_are_stored_as_utc(empty_warehouse, tmp_path):
    from datetime import timedelta, timezone

    berlin_noon = datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    table = pa.table(
        {
            "created_at": pa.array([berlin_noon], pa.timestamp("us", tz="Europe/Berlin")),
            "timezone": ["Europe/Berlin"],
            "name": ["Blue Harbor"],
            "client_id": ["0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"],
        }
    )
    pq.write_table(table, tmp_path / "clients.parquet")
    load_files(empty_warehouse, "clients", [tmp_path / "clients.parquet"], progress=True)
    assert table_rows(empty_warehouse, "clients")[0][3] == datetime(2026, 1, 5, 11, 0)


def test_text_and_timestamps_survive_exactly(empty_warehouse, tmp_path):
    columns = list(RAW_TABLES["users"].column_names)
    user = {
        "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
        "client_id": "aa7cf840-9ca9-46a3-9778-9015d6580d50",
        "email": "",
        "display_name": 'Zoë Ångström, "Z" \u2014 line\nbreak',
        "created_at": "1999-12-31 23:59:59.123456",
    }
    path = write_csv(tmp_path / "u.csv", columns, [user], quoting=csv.QUOTE_ALL)
    load_files(empty_warehouse, "users", [path])
    assert table_rows(empty_warehouse, "users") == [
        (
            user["user_id"],
            user["client_id"],
            "",
            user["display_name"],
            datetime(1999, 12, 31, 23, 59, 59, 123456),
        )
    ]
