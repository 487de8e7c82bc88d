"""``daybook load`` hardening (issue 12), through the command line on both backends.

Timestamps with a UTC offset are converted to UTC and unreadable ones refused;
every refused file exits 1 naming file, row and column, with no traceback or
SQL and nothing loaded; re-delivered entities replace the earlier row and the
command says so. Expected values are computed here in plain Python.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from support import read_table

from daybook.config import Warehouse
from daybook.load.cli import load
from daybook.raw_schema import RAW_TABLES

TABLES = ("clients", "users", "devices", "heartbeats")
CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
OTHER_CLIENT = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
USER = "a1d97031-04e2-4907-a249-093f7436207b"
DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
# what a refusal message must never show: a traceback, the loader's SQL or its tables
LEAKS = re.compile(r"Traceback|\b(?i:select|insert into|from stdin)\b|LINE 1:|_daybook_")


def run_load(warehouse: Warehouse, table: str, *paths: Path, monkeypatch) -> Result:
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)
    return CliRunner().invoke(load, [table, *map(str, paths)])


def write_csv(path: Path, records: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(records[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return path


def counts(warehouse: Warehouse) -> dict[str, int | None]:
    out = {}
    for table in TABLES:
        try:
            out[table] = read_table(warehouse, f"select count(*) as n from raw.{table}")[0]["n"]
        except Exception:
            out[table] = None
    return out


def client(client_id: str = CLIENT, created_at: str = "2025-01-01 00:00:00", **extra) -> dict:
    return {
        "client_id": client_id,
        "name": "Northwind",
        "timezone": "America/New_York",
        "created_at": created_at,
    } | extra


def heartbeat(index: int, **extra) -> dict:
    spec = RAW_TABLES["heartbeats"]
    row = {
        "heartbeat_id": f"00000000-0000-4000-8000-{index:012d}",
        "client_id": CLIENT,
        "user_id": USER,
        "device_id": DEVICE,
        "generated_at_utc": "2026-01-05 14:00:00",
        "received_at_utc": "2026-01-05 14:00:05",
        **{name: "1" for name in spec.column_names[6:11]},
        "total_activity_count": "5",
    }
    return row | extra


def utc_naive(text: str) -> datetime:
    """Independent reading of the offsets used below: split the suffix off by hand."""
    match = re.fullmatch(r"(.{10}[ T][0-9:.]+)(Z|[+-]\d\d(?::?\d\d)?)?", text)
    assert match, text
    stamp = datetime.strptime(
        match.group(1).replace("T", " "),
        "%Y-%m-%d %H:%M:%S" + (".%f" if "." in match.group(1) else ""),
    )
    suffix = match.group(2)
    if not suffix or suffix == "Z":
        return stamp
    sign = 1 if suffix[0] == "+" else -1
    digits = suffix[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return stamp.replace(tzinfo=timezone(sign * offset)).astimezone(UTC).replace(tzinfo=None)


# --- 1. timestamps with an offset ------------------------------------------------------------

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


# --- 2. every refused file: exit 1, file/row/column, no traceback or SQL, nothing loaded ------


@pytest.fixture
def loaded(empty_warehouse, tmp_path, monkeypatch) -> Warehouse:
    """A warehouse with some rows in every raw table, so 'nothing loaded' is a real check."""
    users = [
        {
            "user_id": USER,
            "client_id": CLIENT,
            "email": "a@example.com",
            "display_name": "Ana",
            "created_at": "2025-01-01 00:00:00",
        }
    ]
    devices = [
        {
            "device_id": DEVICE,
            "client_id": CLIENT,
            "hostname": "h",
            "platform": "windows",
            "created_at": "2025-01-01 00:00:00",
        }
    ]
    files = {
        "clients": write_csv(tmp_path / "seed_c.csv", [client()]),
        "users": write_csv(tmp_path / "seed_u.csv", users),
        "devices": write_csv(tmp_path / "seed_d.csv", devices),
        "heartbeats": write_csv(tmp_path / "seed_h.csv", [heartbeat(i) for i in range(3)]),
    }
    for table, path in files.items():
        assert run_load(empty_warehouse, table, path, monkeypatch=monkeypatch).exit_code == 0
    return empty_warehouse


def heartbeat_table(rows: int) -> dict[str, list]:
    """Columns of ``rows`` valid heartbeats, counts as text (a string column)."""
    spec = RAW_TABLES["heartbeats"]
    columns: dict[str, list] = {name: [] for name in spec.column_names}
    for index in range(rows):
        for name, value in heartbeat(1000 + index).items():
            columns[name].append(value)
    return columns


def assert_refused(warehouse: Warehouse, result: Result, before: dict, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)
    assert not LEAKS.search(result.output), result.output
    assert counts(warehouse) == before


def test_text_deep_in_a_parquet_count_column_names_row_and_column(loaded, tmp_path, monkeypatch):
    # small COPY batches: the bad value arrives after rows were already streamed to
    # PostgreSQL, through Arrow's reader, where it used to end in a traceback with SQL
    monkeypatch.setattr("daybook.load.loader.COPY_BATCH_ROWS", 500)
    columns = heartbeat_table(30000)
    columns["edge_activity_count"][25234] = "zzz"
    pq.write_table(
        pa.table({name: pa.array(v, pa.string()) for name, v in columns.items()}),
        tmp_path / "deep.parquet",
        row_group_size=2000,
    )
    before = counts(loaded)
    result = run_load(loaded, "heartbeats", tmp_path / "deep.parquet", monkeypatch=monkeypatch)
    assert_refused(
        loaded, result, before, "deep.parquet", "row 25235", "edge_activity_count", "'zzz'"
    )


def test_a_corrupt_parquet_file_is_refused_cleanly(loaded, tmp_path, monkeypatch):
    monkeypatch.setattr("daybook.load.loader.COPY_BATCH_ROWS", 500)
    columns = heartbeat_table(20000)
    columns["heartbeat_id"] = [f"{i:08d}-0000-4000-8000-{i * 7919:012d}" for i in range(20000)]
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table(columns), good, row_group_size=2000, compression="snappy")
    data = bytearray(good.read_bytes())
    start = int(len(data) * 0.8)
    for position in range(start, start + 3000, 5):  # scramble compressed pages near the end
        data[position] = (data[position] * 31 + 17) % 256
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(bytes(data))
    before = counts(loaded)
    result = run_load(loaded, "heartbeats", corrupt, monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "corrupt.parquet")


def test_a_nul_byte_in_a_csv_names_line_and_column(loaded, tmp_path, monkeypatch):
    rows = [heartbeat(100 + i) for i in range(8)]
    rows[5]["device_id"] = "f1e2d3c4\x00b5a6"
    path = write_csv(tmp_path / "nul.csv", rows)
    before = counts(loaded)
    result = run_load(loaded, "heartbeats", path, monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "nul.csv", "line 7", "column device_id", "NUL")


def test_a_nul_byte_in_parquet_text_names_row_and_column(loaded, tmp_path, monkeypatch):
    columns = heartbeat_table(50)
    columns["user_id"][31] = "a1d97031\x00"
    pq.write_table(pa.table(columns), tmp_path / "nul.parquet")
    before = counts(loaded)
    result = run_load(loaded, "heartbeats", tmp_path / "nul.parquet", monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "nul.parquet", "row 32", "column user_id", "NUL")


def test_a_latin1_byte_in_a_row_is_not_blamed_on_the_header(loaded, tmp_path, monkeypatch):
    lines = ["user_id,client_id,email,display_name,created_at"]
    for index in range(400):  # more than one decoding buffer before the bad byte
        lines.append(
            f"00000000-0000-4000-8000-{index:012d},{CLIENT},u{index}@example.com,"
            f"User {index},2025-01-01 00:00:00"
        )
    lines[300] = lines[300].replace(f"User {299}", "Jos\xe9")
    path = tmp_path / "latin1.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    before = counts(loaded)
    result = run_load(loaded, "users", path, monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "latin1.csv", "line 301", "column display_name", "0xe9")
    assert "header" not in result.output


def test_a_latin1_header_is_named_as_the_header(loaded, tmp_path, monkeypatch):
    path = tmp_path / "head.csv"
    path.write_bytes("user_id,client_id,e\xe9mail\n".encode("latin-1"))
    before = counts(loaded)
    result = run_load(loaded, "users", path, monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "head.csv", "line 1 (the header)")


def test_a_bad_second_file_loads_nothing_of_the_call(loaded, tmp_path, monkeypatch):
    good = write_csv(tmp_path / "good.csv", [heartbeat(500 + i) for i in range(4)])
    bad_rows = [heartbeat(600 + i) for i in range(4)]
    bad_rows[2]["generated_at_utc"] = "2026-01-05 10:00:00 Mars/Olympus"
    bad = write_csv(tmp_path / "bad.csv", bad_rows)
    before = counts(loaded)
    result = run_load(loaded, "heartbeats", good, bad, monkeypatch=monkeypatch)
    assert_refused(loaded, result, before, "bad.csv", "line 4", "column generated_at_utc")


# --- 3. entity re-delivery -------------------------------------------------------------------


def user(user_id: str, **extra) -> dict:
    return {
        "user_id": user_id,
        "client_id": CLIENT,
        "email": f"{user_id[:4]}@example.com",
        "display_name": "Someone",
        "created_at": "2025-01-01 00:00:00",
    } | extra


def rows_by_id(warehouse: Warehouse, table: str) -> dict[str, list[dict]]:
    key = RAW_TABLES[table].key
    out: dict[str, list[dict]] = {}
    for row in read_table(warehouse, f"select * from raw.{table}"):
        out.setdefault(row[key], []).append(row)
    return out


A, B, C = (f"{digit * 8}-0000-4000-8000-000000000000" for digit in "abc")


def test_a_redelivered_user_replaces_the_earlier_row(empty_warehouse, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "u1.csv", [user(A), user(B), user(C)])
    assert run_load(empty_warehouse, "users", first, monkeypatch=monkeypatch).exit_code == 0
    again = write_csv(
        tmp_path / "u2.csv",
        [
            user(A, client_id=OTHER_CLIENT),  # moved
            user(B, email="new@example.com"),  # changed
            user(C),  # identical: not a replacement worth a notice
            user("dddddddd-0000-4000-8000-000000000000"),  # new
        ],
    )
    result = run_load(empty_warehouse, "users", again, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    assert "2 users replaced earlier rows with other values; 1 moved to another client" in (
        result.output
    )
    stored = rows_by_id(empty_warehouse, "users")
    assert {key: len(rows) for key, rows in stored.items()} == dict.fromkeys(stored, 1)
    assert len(stored) == 4
    assert stored[A][0]["client_id"] == OTHER_CLIENT
    assert stored[B][0]["email"] == "new@example.com"


def test_same_files_again_print_no_notice(empty_warehouse, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "u.csv", [user(A), user(B)])
    run_load(empty_warehouse, "users", path, monkeypatch=monkeypatch)
    result = run_load(empty_warehouse, "users", path, monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert "0 added" in result.output and "Notice" not in result.output
    assert len(rows_by_id(empty_warehouse, "users")) == 2


def test_within_one_call_the_last_row_of_the_last_file_wins(empty_warehouse, tmp_path, monkeypatch):
    # within a file the later row wins even where sorting the values would pick the other
    one = write_csv(
        tmp_path / "one.csv",
        [
            user(A, display_name="Zed", email="z@example.com"),
            user(B, display_name="Zoe"),
            user(A, display_name="Ann", email="a@example.com"),
        ],
    )
    two = write_csv(tmp_path / "two.csv", [user(B, display_name="Bea", client_id=OTHER_CLIENT)])
    result = run_load(empty_warehouse, "users", one, two, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert "2 rows repeated an id given earlier in these files" in result.output
    stored = rows_by_id(empty_warehouse, "users")
    assert [row["display_name"] for row in stored[A]] == ["Ann"]
    assert [(row["display_name"], row["client_id"]) for row in stored[B]] == [("Bea", OTHER_CLIENT)]


def test_within_one_parquet_file_the_last_row_wins(empty_warehouse, tmp_path, monkeypatch):
    rows = [user(A, display_name=f"v{index:05d}") for index in range(3000)]
    table = pa.table({name: [row[name] for row in rows] for name in rows[0]})
    pq.write_table(table, tmp_path / "many.parquet", row_group_size=250)
    result = run_load(empty_warehouse, "users", tmp_path / "many.parquet", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert [row["display_name"] for row in rows_by_id(empty_warehouse, "users")[A]] == ["v02999"]


def test_a_client_time_zone_change_is_announced(empty_warehouse, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "c1.csv", [client(), client(OTHER_CLIENT)])
    run_load(empty_warehouse, "clients", first, monkeypatch=monkeypatch)
    second = write_csv(tmp_path / "c2.csv", [client(timezone="Europe/Berlin")])
    result = run_load(empty_warehouse, "clients", second, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 client replaced earlier rows with other values; 1 changed time zone" in result.output
    stored = rows_by_id(empty_warehouse, "clients")
    assert [row["timezone"] for row in stored[CLIENT]] == ["Europe/Berlin"]
    assert len(stored[OTHER_CLIENT]) == 1


def test_a_moved_device_is_announced(empty_warehouse, tmp_path, monkeypatch):
    device = {
        "device_id": DEVICE,
        "client_id": CLIENT,
        "hostname": "h1",
        "platform": "windows",
        "created_at": "2025-01-01 00:00:00",
    }
    run_load(
        empty_warehouse,
        "devices",
        write_csv(tmp_path / "d1.csv", [device]),
        monkeypatch=monkeypatch,
    )
    moved = write_csv(tmp_path / "d2.csv", [device | {"client_id": OTHER_CLIENT}])
    result = run_load(empty_warehouse, "devices", moved, monkeypatch=monkeypatch)
    assert "1 device replaced earlier rows with other values; 1 moved to another client" in (
        result.output
    )
    assert [row["client_id"] for row in rows_by_id(empty_warehouse, "devices")[DEVICE]] == [
        OTHER_CLIENT
    ]
