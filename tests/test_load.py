"""``daybook load``: bulk, atomic, idempotent loading of CSV and Parquet on both backends.

Expected rows are read from the files here with pyarrow and the csv module;
refused loads are checked by counting every raw table before and after.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support import (
    create_postgres_database,
    drop_postgres_database,
    read_table,
    require_postgres,
)

from daybook.config import Warehouse, parse_database_url
from daybook.generate import generate_dataset
from daybook.load import LoadError, LoadResult, load_files
from daybook.raw_schema import RAW_TABLES

TABLES = ("clients", "users", "devices", "heartbeats")


@pytest.fixture(scope="module", params=["parquet", "csv"])
def generated(request, tmp_path_factory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp(f"raw-{request.param}")
    return generate_dataset(folder, heartbeats=3000, seed=21, file_format=request.param)


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory) -> dict[str, list[Path]]:
    return generate_dataset(
        tmp_path_factory.mktemp("raw-csv"), heartbeats=1200, seed=4, file_format="csv"
    )


# --- expected values, read independently of the loader --------------------------------------


def file_rows(table: str, paths: list[Path]) -> list[tuple]:
    """Rows of the files as tuples in contract column order, typed like the warehouse returns."""
    spec = RAW_TABLES[table]
    out = []
    for path in paths:
        if path.suffix == ".parquet":
            for row in pq.read_table(path).to_pylist():
                out.append(tuple(row[name] for name in spec.column_names))
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                out.append(tuple(_typed(record[name], kind) for name, kind in spec.columns))
    return out


def _typed(text: str, kind: str) -> object:
    if text == "":
        return None
    if kind == "timestamp":
        return datetime.fromisoformat(text)
    if kind == "double precision":
        return float(text)
    return text


def table_rows(warehouse: Warehouse, table: str) -> list[tuple]:
    names = RAW_TABLES[table].column_names
    return [
        tuple(row[name] for name in names)
        for row in read_table(warehouse, f"select * from raw.{table}")
    ]


def counts(warehouse: Warehouse) -> dict[str, int | None]:
    """Row count of every raw table (None when it does not exist yet)."""
    out = {}
    for table in TABLES:
        try:
            out[table] = read_table(warehouse, f"select count(*) as n from raw.{table}")[0]["n"]
        except Exception:
            out[table] = None
    return out


def bag(rows: list[tuple]) -> Counter:
    return Counter(rows)


def load_all(warehouse: Warehouse, files: dict[str, list[Path]]) -> dict[str, LoadResult]:
    return {table: load_files(warehouse, table, files[table]) for table in TABLES}


# --- round trip, idempotency, merge rules -----------------------------------------------------


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


# --- refused files ------------------------------------------------------------------------


def write_csv(
    path: Path, columns: list[str], records: list[dict], quoting: int = csv.QUOTE_MINIMAL
) -> Path:
    """A CSV file; an unquoted empty field is NULL, a quoted one ("") an empty string."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, quoting=quoting)
        writer.writeheader()
        writer.writerows(records)
    return path


def csv_records(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def damaged(csv_path: Path, out: Path, line: int, column: str, value: str) -> Path:
    """A copy of a CSV file with ``value`` in ``column`` on file line ``line`` (header = 1)."""
    columns, records = csv_records(csv_path)
    records[line - 2][column] = value
    return write_csv(out, columns, records)


def assert_refused(warehouse, table, files, *fragments):
    before = counts(warehouse)
    with pytest.raises(LoadError) as refused:
        load_files(warehouse, table, files)
    message = str(refused.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert counts(warehouse) == before
    return message


@pytest.fixture(scope="module")
def shared_warehouses() -> dict[str, Warehouse]:
    """Warehouses shared by the refusal tests: a refused load must leave them unchanged anyway."""
    made: dict[str, Warehouse] = {}
    yield made
    for warehouse in made.values():
        if warehouse.backend == "postgres":
            drop_postgres_database(warehouse)


@pytest.fixture
def preloaded(backend, shared_warehouses, csv_files, tmp_path_factory) -> Warehouse:
    """A warehouse already holding every raw table, so 'unchanged' is a real check."""
    if backend not in shared_warehouses:
        if backend == "duckdb":
            folder = tmp_path_factory.mktemp("refusals")
            warehouse = parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
        else:
            require_postgres()
            warehouse = create_postgres_database()
        shared_warehouses[backend] = warehouse
        load_all(warehouse, csv_files)
    return shared_warehouses[backend]


def test_missing_column_is_refused(preloaded, csv_files, tmp_path):
    columns, records = csv_records(csv_files["users"][0])
    kept = [name for name in columns if name != "email"]
    for record in records:
        record.pop("email")
    bad = write_csv(tmp_path / "no_email.csv", kept, records)
    assert_refused(preloaded, "users", [bad], "no_email.csv", "missing column", "email")


def test_unexpected_column_is_refused(preloaded, csv_files, tmp_path):
    columns, records = csv_records(csv_files["devices"][0])
    for record in records:
        record["serial"] = "x"
    bad = write_csv(tmp_path / "extra.csv", [*columns, "serial"], records)
    assert_refused(preloaded, "devices", [bad], "extra.csv", "unexpected column", "serial")


def test_bad_timestamp_is_refused_naming_line_and_column(preloaded, csv_files, tmp_path):
    bad = damaged(
        csv_files["heartbeats"][0],
        tmp_path / "bad_ts.csv",
        57,
        "generated_at_utc",
        "2026-13-45 25:00:00",
    )
    assert_refused(preloaded, "heartbeats", [bad], "bad_ts.csv", "line 57", "generated_at_utc")


def test_text_in_a_count_is_refused_naming_line_and_column(preloaded, csv_files, tmp_path):
    bad = damaged(
        csv_files["heartbeats"][0], tmp_path / "bad_count.csv", 9, "edge_activity_count", "abc"
    )
    message = assert_refused(
        preloaded, "heartbeats", [bad], "bad_count.csv", "line 9", "edge_activity_count"
    )
    assert "abc" in message


def test_text_in_a_parquet_count_is_refused_naming_row_and_column(preloaded, tmp_path):
    spec = RAW_TABLES["heartbeats"]
    values = {name: [None] * 4 for name in spec.column_names}
    values["heartbeat_id"] = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)]
    values["total_activity_count"] = ["1", "2", "lots", "3"]
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({name: pa.array(v, pa.string()) for name, v in values.items()}), bad)
    assert_refused(preloaded, "heartbeats", [bad], "bad.parquet", "row 3", "total_activity_count")


def test_a_bad_second_file_refuses_the_whole_call(preloaded, csv_files, tmp_path):
    good = csv_files["heartbeats"][0]
    bad = damaged(good, tmp_path / "second.csv", 4, "received_at_utc", "yesterday")
    message = assert_refused(
        preloaded, "heartbeats", [good, bad], "second.csv", "line 4", "received_at_utc"
    )
    assert str(good) not in message


def test_a_short_row_is_refused(preloaded, csv_files, tmp_path):
    lines = csv_files["devices"][0].read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    bad = tmp_path / "short.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert_refused(preloaded, "devices", [bad], "short.csv", "line 3")


def test_an_entity_row_without_its_key_is_refused(preloaded, csv_files, tmp_path):
    bad = damaged(csv_files["clients"][0], tmp_path / "no_key.csv", 3, "client_id", "")
    assert_refused(preloaded, "clients", [bad], "no_key.csv", "line 3", "client_id")


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.csv", None, "not found"),
        ("data.txt", "a,b\n", "unknown file type"),
        ("broken.parquet", "not parquet", "not a readable Parquet file"),
        ("empty.csv", "", "no header"),
    ],
)
def test_unreadable_files_are_refused(preloaded, tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert_refused(preloaded, "clients", [path], name, fragment)


def test_unknown_table_is_refused(empty_warehouse, csv_files):
    with pytest.raises(LoadError, match="Unknown raw table"):
        load_files(empty_warehouse, "sessions", csv_files["clients"])


# --- command line -------------------------------------------------------------------------


def test_cli_load_exit_codes(empty_warehouse, csv_files, tmp_path, monkeypatch):
    from daybook.load.cli import load

    monkeypatch.setenv("DAYBOOK_DATABASE_URL", empty_warehouse.url)
    runner = CliRunner()
    ok = runner.invoke(load, ["users", *map(str, csv_files["users"])])
    assert ok.exit_code == 0, ok.output
    assert f"{len(file_rows('users', csv_files['users']))} added" in ok.output

    bad = damaged(csv_files["users"][0], tmp_path / "bad_users.csv", 2, "created_at", "soon")
    refused = runner.invoke(load, ["users", str(bad)])
    assert refused.exit_code == 1
    assert "bad_users.csv" in refused.output and "line 2" in refused.output
    assert "Traceback" not in refused.output

    unknown = runner.invoke(load, ["sessions", str(bad)])
    assert unknown.exit_code == 2
