"""Timestamps with a UTC offset are stored as UTC and unreadable ones refused (contract
section 1), through the command line on both backends; expected values computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import read_table

from load.cli_rows import (
    CLIENT,
    OTHER_CLIENT,
    assert_refused,
    client,
    heartbeat,
    run_load,
    utc_naive,
    write_csv,
)
from load.rows import counts

OFFSET_STAMPS = [
    "2026-01-05 15:00:00+05:00",
    "2026-01-05 15:00:00-0330",
    "2026-01-05 15:00:00+05",
    "2026-01-05 15:00:00Z",
    "2026-01-05T15:00:00.250+01:00",
    "2026-01-05 23:30:00-08:00",
    "2026-01-05 15:00:00",
]


def test_csv_timestamps_with_an_offset_are_stored_as_utc(empty_warehouse, tmp_path, monkeypatch):
    records = [
        client(f"00000000-0000-4000-8000-{index:012d}", stamp)
        for index, stamp in enumerate(OFFSET_STAMPS)
    ]
    result = run_load(
        empty_warehouse, "clients", write_csv(tmp_path / "c.csv", records), monkeypatch=monkeypatch
    )
    assert result.exit_code == 0, result.output
    stored = {
        row["client_id"]: row["created_at"]
        for row in read_table(empty_warehouse, "select client_id, created_at from raw.clients")
    }
    assert stored == {record["client_id"]: utc_naive(record["created_at"]) for record in records}
    # the example of the issue: 15:00 at +05:00 is 10:00 UTC
    assert stored["00000000-0000-4000-8000-000000000000"] == datetime(2026, 1, 5, 10, 0)


def test_a_date_alone_is_that_days_midnight_utc(empty_warehouse, tmp_path, monkeypatch):
    records = [client(CLIENT, "2026-01-05"), client(OTHER_CLIENT, "2026-01-05 00:00:01")]
    path = write_csv(tmp_path / "dates.csv", records)
    result = run_load(empty_warehouse, "clients", path, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    stored = {
        row["client_id"]: row["created_at"]
        for row in read_table(empty_warehouse, "select client_id, created_at from raw.clients")
    }
    assert stored == {CLIENT: datetime(2026, 1, 5), OTHER_CLIENT: datetime(2026, 1, 5, 0, 0, 1)}


def test_heartbeat_offsets_are_converted_in_both_timestamp_columns(
    empty_warehouse, tmp_path, monkeypatch
):
    rows = [
        heartbeat(
            1,
            generated_at_utc="2026-01-05 01:00:00+05:00",
            received_at_utc="2026-01-05 02:00:00+05:00",
        ),
        heartbeat(
            2, generated_at_utc="2026-01-04 22:00:00-0330", received_at_utc="2026-01-05T01:31:00Z"
        ),
    ]
    result = run_load(
        empty_warehouse, "heartbeats", write_csv(tmp_path / "h.csv", rows), monkeypatch=monkeypatch
    )
    assert result.exit_code == 0, result.output
    stored = read_table(
        empty_warehouse,
        "select heartbeat_id, generated_at_utc, received_at_utc from raw.heartbeats",
    )
    assert {(r["heartbeat_id"], r["generated_at_utc"], r["received_at_utc"]) for r in stored} == {
        (row["heartbeat_id"], utc_naive(row["generated_at_utc"]), utc_naive(row["received_at_utc"]))
        for row in rows
    }


def test_parquet_text_and_zoned_timestamps_are_stored_as_utc(
    empty_warehouse, tmp_path, monkeypatch
):
    text = pa.table(
        {
            "client_id": [CLIENT, OTHER_CLIENT],
            "name": ["A", "B"],
            "timezone": ["Asia/Kolkata", "UTC"],
            "created_at": ["2026-01-05 15:00:00+05:30", "2026-01-05 15:00:00"],
        }
    )
    pq.write_table(text, tmp_path / "text.parquet")
    tokyo = timezone(timedelta(hours=9))
    zoned = pa.table(
        {
            "client_id": ["11111111-2222-4333-8444-555555555555"],
            "name": ["C"],
            "timezone": ["Asia/Tokyo"],
            "created_at": pa.array(
                [datetime(2026, 1, 5, 9, 0, tzinfo=tokyo)], pa.timestamp("us", tz="Asia/Tokyo")
            ),
        }
    )
    pq.write_table(zoned, tmp_path / "zoned.parquet")
    for name in ("text.parquet", "zoned.parquet"):
        result = run_load(empty_warehouse, "clients", tmp_path / name, monkeypatch=monkeypatch)
        assert result.exit_code == 0, result.output
    stored = {
        row["name"]: row["created_at"]
        for row in read_table(empty_warehouse, "select name, created_at from raw.clients")
    }
    assert stored == {
        "A": datetime(2026, 1, 5, 9, 30),
        "B": datetime(2026, 1, 5, 15, 0),
        "C": datetime(2026, 1, 5, 0, 0),
    }


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05 15:00:00 America/New_York",  # a zone name, not an offset
        "2026-01-05 15:00:00 +05:00",  # a space before the offset
        "2026-01-05 15:00:00+25:00",  # no such offset
        "2026-02-30 10:00:00+01:00",  # no such day
        "epoch",
        "2026-01-05 15:00:00 EST",
    ],
)
def test_timestamps_that_are_no_utc_instant_are_refused(
    empty_warehouse, tmp_path, monkeypatch, value
):
    records = [client(f"00000000-0000-4000-8000-{index:012d}") for index in range(6)]
    records[3]["created_at"] = value
    path = write_csv(tmp_path / "clients.csv", records)
    before = counts(empty_warehouse)
    result = run_load(empty_warehouse, "clients", path, monkeypatch=monkeypatch)
    assert_refused(empty_warehouse, result, before, "clients.csv: line 5, column created_at")
    assert repr(value) in result.output


# Instants outside the years 1 to 9999 (UTC): DuckDB and PostgreSQL hold them, Python's
# datetime and Spark cannot, and one such received time stopped every later refresh
OUT_OF_YEARS = [
    "12026-01-01 00:00:00",  # a five-digit year
    "9999-12-31 23:00:00-05:00",  # 10000-01-01 04:00 UTC
    "0001-01-01 01:00:00+05:00",  # in year 0 (1 BC) UTC
    "0000-06-01 00:00:00",
    "9999-12-31 24:00:00",  # DuckDB reads it as 10000-01-01 00:00
    "0005-01-01 (BC)",  # DuckDB reads the suffix
]


@pytest.mark.parametrize("value", OUT_OF_YEARS)
def test_instants_outside_the_years_1_to_9999_are_refused(
    empty_warehouse, tmp_path, monkeypatch, value
):
    rows = [heartbeat(index) for index in range(4)]
    rows[2]["received_at_utc"] = value
    path = write_csv(tmp_path / "heartbeats.csv", rows)
    before = counts(empty_warehouse)
    result = run_load(empty_warehouse, "heartbeats", path, monkeypatch=monkeypatch)
    assert_refused(
        empty_warehouse, result, before, "heartbeats.csv: line 4, column received_at_utc"
    )
    assert repr(value) in result.output
    assert "years 0001 to 9999" in result.output


def test_the_first_and_last_instants_of_the_years_1_to_9999_load(
    empty_warehouse, tmp_path, monkeypatch
):
    edges = ["0001-01-01 00:00:00", "9999-12-31 23:59:59", "0001-01-01 05:00:00+05:00"]
    records = [client(f"00000000-0000-4000-8000-{i:012d}", stamp) for i, stamp in enumerate(edges)]
    path = write_csv(tmp_path / "edges.csv", records)
    result = run_load(empty_warehouse, "clients", path, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    stored = sorted(
        row["created_at"]
        for row in read_table(empty_warehouse, "select created_at from raw.clients")
    )
    assert stored == sorted(utc_naive(stamp) for stamp in edges)


def test_a_parquet_timestamp_past_year_9999_names_its_row(empty_warehouse, tmp_path, monkeypatch):
    # pyarrow writes any 64-bit microsecond count; Python cannot build such a datetime
    micros = [1_767_225_600_000_000] * 5
    micros[3] = 253_402_300_800_000_000  # 10000-01-01 00:00 UTC
    table = pa.table(
        {
            "client_id": [f"00000000-0000-4000-8000-{index:012d}" for index in range(5)],
            "name": ["n"] * 5,
            "timezone": ["UTC"] * 5,
            "created_at": pa.array(micros, pa.timestamp("us")),
        }
    )
    pq.write_table(table, tmp_path / "far.parquet")
    before = counts(empty_warehouse)
    result = run_load(empty_warehouse, "clients", tmp_path / "far.parquet", monkeypatch=monkeypatch)
    assert_refused(
        empty_warehouse,
        result,
        before,
        "far.parquet: row 4, column created_at",
        "years 0001 to 9999",
    )


def test_a_bad_text_timestamp_in_parquet_names_its_row(empty_warehouse, tmp_path, monkeypatch):
    values = ["2026-01-05 15:00:00+01:00"] * 7
    values[4] = "2026-01-05 15:00:00 Europe/Paris"
    table = pa.table(
        {
            "client_id": [f"00000000-0000-4000-8000-{index:012d}" for index in range(7)],
            "name": ["n"] * 7,
            "timezone": ["UTC"] * 7,
            "created_at": values,
        }
    )
    pq.write_table(table, tmp_path / "bad_ts.parquet")
    before = counts(empty_warehouse)
    result = run_load(
        empty_warehouse, "clients", tmp_path / "bad_ts.parquet", monkeypatch=monkeypatch
    )
    assert_refused(empty_warehouse, result, before, "bad_ts.parquet: row 5, column created_at")
