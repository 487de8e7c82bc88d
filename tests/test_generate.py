"""``daybook generate``: seeded, exact-size raw data with every shape the marts must survive.

Expectations are computed here from the written files with pyarrow, the csv
module and ``tests/reference.py`` (the contract's validity rule), not with
the generator's own code.
"""

from __future__ import annotations

import csv
import itertools
import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from reference import compute, invalid_reasons

from daybook.generate import generate_dataset
from daybook.raw_schema import RAW_TABLES

EXAMPLE_CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
EXAMPLE_USER = "a1d97031-04e2-4907-a249-093f7436207b"
EXAMPLE_DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
HEARTBEATS = 20_000


def rows(files: dict[str, list[Path]], table: str) -> list[dict]:
    return [row for path in files[table] for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    files = generate_dataset(tmp_path_factory.mktemp("gen"), heartbeats=HEARTBEATS, seed=11)
    return {table: rows(files, table) for table in files}


@pytest.fixture(scope="module")
def lookups(dataset) -> tuple[dict, dict, dict]:
    return (
        {row["client_id"]: row for row in dataset["clients"]},
        {row["user_id"]: row for row in dataset["users"]},
        {row["device_id"]: row for row in dataset["devices"]},
    )


def test_writes_exactly_the_requested_heartbeats_and_every_table(dataset):
    assert len(dataset["heartbeats"]) == HEARTBEATS
    for table, spec in RAW_TABLES.items():
        assert dataset[table], table
        assert list(dataset[table][0]) == list(spec.column_names)


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path):
    first = generate_dataset(tmp_path / "a", heartbeats=3000, seed=5)
    again = generate_dataset(tmp_path / "b", heartbeats=3000, seed=5)
    other = generate_dataset(tmp_path / "c", heartbeats=3000, seed=6)
    for table in first:
        assert rows(first, table) == rows(again, table), table
    assert rows(first, "heartbeats") != rows(other, "heartbeats")
    assert rows(first, "users") != rows(other, "users")


def test_users_and_heartbeats_per_active_day_set_the_shape(tmp_path: Path):
    """The benchmark's knobs: a chosen number of users, and the same heartbeats spread over
    more user-days when each active day carries fewer."""

    def user_days(files: dict[str, list[Path]]) -> int:
        return len(
            {
                (row["user_id"], row["generated_at_utc"].date())
                for row in rows(files, "heartbeats")
                if row["user_id"] and row["generated_at_utc"]
            }
        )

    busy = generate_dataset(tmp_path / "busy", heartbeats=6000, seed=4, days=90, users=60)
    sparse = generate_dataset(
        tmp_path / "sparse", heartbeats=6000, seed=4, days=90, users=60, per_active_day=4
    )
    for files in (busy, sparse):
        assert len(rows(files, "users")) == 60
        assert len(rows(files, "heartbeats")) == 6000
    assert user_days(sparse) > 1.5 * user_days(busy)


def test_chunked_output_is_exact_and_deterministic(tmp_path: Path, monkeypatch):
    import daybook.generate.dataset as dataset_module

    monkeypatch.setattr(dataset_module, "BATCH_ROWS", 700)
    monkeypatch.setattr(dataset_module, "FILE_BATCHES", 2)
    first = generate_dataset(tmp_path / "a", heartbeats=6000, seed=3)
    again = generate_dataset(tmp_path / "b", heartbeats=6000, seed=3)
    assert len(first["heartbeats"]) >= 3
    assert all(pq.ParquetFile(path).num_row_groups <= 2 for path in first["heartbeats"])
    assert len(rows(first, "heartbeats")) == 6000
    assert rows(first, "heartbeats") == rows(again, "heartbeats")


def test_ids_are_lowercase_canonical_uuids(dataset):
    for table, spec in RAW_TABLES.items():
        id_columns = [name for name in spec.column_names if name.endswith("_id")]
        for row in dataset[table]:
            for column in id_columns:
                value = row[column]
                if value is not None:
                    assert str(uuid.UUID(value)) == value, (table, column, value)


def test_entity_keys_are_unique_and_belong_to_known_clients(dataset, lookups):
    clients, users, devices = lookups
    assert len(clients) == len(dataset["clients"])
    assert len(users) == len(dataset["users"])
    assert len(devices) == len(dataset["devices"])
    assert {row["client_id"] for row in dataset["users"]} <= set(clients)
    assert {row["client_id"] for row in dataset["devices"]} <= set(clients)


def test_small_dataset_has_several_clients_tens_of_users_and_varied_zones(lookups):
    clients, users, _ = lookups
    assert len(clients) >= 5
    assert 20 <= len(users) <= 200
    zones = {row["timezone"] for row in clients.values()}
    assert {"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"} <= zones
    assert {"Pacific/Kiritimati", "UTC"} <= zones


def test_example_ids_from_the_endpoint_documents_are_present_and_active(dataset, lookups):
    clients, users, devices = lookups
    assert clients[EXAMPLE_CLIENT]["timezone"] == "America/New_York"
    assert users[EXAMPLE_USER]["client_id"] == EXAMPLE_CLIENT
    assert devices[EXAMPLE_DEVICE]["client_id"] == EXAMPLE_CLIENT
    ref = compute(dataset["clients"], dataset["users"], dataset["devices"], dataset["heartbeats"])
    example_days = {
        day
        for (client, day, user, device) in ref.activity
        if client == EXAMPLE_CLIENT and user == EXAMPLE_USER and device == EXAMPLE_DEVICE
    }
    assert any(date(2026, 1, 1) <= day <= date(2026, 1, 15) for day in example_days)


def test_every_invalid_kind_appears_in_a_small_share(dataset, lookups):
    clients, users, devices = lookups
    reasons = Counter(
        reason
        for row in dataset["heartbeats"]
        for reason in invalid_reasons(row, clients, users, devices)
    )
    expected = {
        "missing_id",
        "unknown_client",
        "unknown_user",
        "user_client_mismatch",
        "unknown_device",
        "device_client_mismatch",
        "invalid_count",
        "total_mismatch",
        "missing_generated_at",
    }
    assert expected <= set(reasons)
    invalid_rows = sum(
        1 for row in dataset["heartbeats"] if invalid_reasons(row, clients, users, devices)
    )
    assert 0 < invalid_rows < 0.02 * HEARTBEATS


def test_counts_include_negative_fractional_and_null_values(dataset):
    sources = [name for name in RAW_TABLES["heartbeats"].column_names if name.endswith("_count")]
    values = [row[name] for row in dataset["heartbeats"] for name in sources]
    assert any(value is None for value in values)
    assert any(value is not None and value < 0 for value in values)
    assert any(value is not None and value != int(value) for value in values)


def test_missing_ids_of_each_column(dataset):
    for column in ("heartbeat_id", "client_id", "user_id", "device_id"):
        assert any(row[column] is None for row in dataset["heartbeats"]), column


def test_about_two_percent_duplicate_deliveries_received_later(dataset):
    by_id = defaultdict(list)
    for row in dataset["heartbeats"]:
        if row["heartbeat_id"] is not None:
            by_id[row["heartbeat_id"]].append(row)
    extra = sum(len(copies) - 1 for copies in by_id.values())
    assert 0.015 * HEARTBEATS <= extra <= 0.025 * HEARTBEATS
    for copies in by_id.values():
        if len(copies) > 1:
            received = [copy["received_at_utc"] for copy in copies]
            assert len(set(received)) == len(received)  # every copy a distinct delivery
            same = [{k: v for k, v in copy.items() if k != "received_at_utc"} for copy in copies]
            assert all(item == same[0] for item in same)


def test_late_arrivals_exist_and_nothing_is_received_before_it_is_generated(dataset):
    delays = [
        row["received_at_utc"] - row["generated_at_utc"]
        for row in dataset["heartbeats"]
        if row["generated_at_utc"] is not None
    ]
    assert min(delays) > timedelta(0)
    late = sum(1 for delay in delays if delay >= timedelta(days=1))
    assert 0.005 * HEARTBEATS < late < 0.05 * HEARTBEATS


def test_activity_follows_local_working_hours_and_weekdays(dataset):
    ref = compute(dataset["clients"], dataset["users"], dataset["devices"], dataset["heartbeats"])
    zones = {row["client_id"]: ZoneInfo(row["timezone"]) for row in dataset["clients"]}
    local = [
        hb["generated_at_utc"].replace(tzinfo=UTC).astimezone(zones[hb["client_id"]])
        for hb in ref.valid
    ]
    working = sum(1 for moment in local if 7 <= moment.hour < 19)
    weekday = sum(1 for moment in local if moment.weekday() < 5)
    assert working > 0.85 * len(local)
    assert weekday > 0.85 * len(local)
    # heartbeats every few minutes: most gaps within a user-device-day are under 10 minutes
    by_cell = defaultdict(list)
    for hb, moment in zip(ref.valid, local, strict=True):
        by_cell[(hb["user_id"], hb["device_id"], moment.date())].append(moment)
    gaps = [
        (later - earlier).total_seconds()
        for moments in by_cell.values()
        for earlier, later in itertools.pairwise(sorted(moments))
    ]
    assert sum(1 for gap in gaps if gap <= 600) > 0.8 * len(gaps)


def test_default_window_covers_the_spec_examples_and_has_idle_days(dataset):
    ref = compute(dataset["clients"], dataset["users"], dataset["devices"], dataset["heartbeats"])
    days = {day for (_, day, _, _) in ref.activity}
    assert min(days) <= date(2026, 1, 1) and max(days) >= date(2026, 1, 15)
    user_days = Counter(user for (user, _, day) in {(k[2], k[0], k[1]) for k in ref.activity})
    span = (max(days) - min(days)).days + 1
    assert all(count < span for count in user_days.values())  # everyone has idle days


def test_shared_devices_are_used_by_several_users(dataset):
    ref = compute(dataset["clients"], dataset["users"], dataset["devices"], dataset["heartbeats"])
    users_per_device = defaultdict(set)
    for _, _, user, device in ref.activity:
        users_per_device[device].add(user)
    assert any(len(users) >= 2 for users in users_per_device.values())


def test_users_and_devices_created_during_the_window(dataset):
    start = datetime(2025, 10, 1)
    assert any(row["created_at"] > start for row in dataset["users"])
    assert any(row["created_at"] < start for row in dataset["users"])


def test_csv_matches_parquet_with_contract_header_and_second_timestamps(tmp_path: Path):
    parquet = generate_dataset(tmp_path / "p", heartbeats=2000, seed=9)
    as_csv = generate_dataset(tmp_path / "c", heartbeats=2000, seed=9, file_format="csv")
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    for table, spec in RAW_TABLES.items():
        with as_csv[table][0].open(newline="") as handle:
            assert handle.readline() == ",".join(spec.column_names) + "\n"
            handle.seek(0)
            reader = csv.reader(handle)
            header = next(reader)
            records = list(reader)
        assert header == list(spec.column_names)
        expected = rows(parquet, table)
        assert len(records) == len(expected)
        for record, row in zip(records, expected, strict=True):
            for name, text in zip(header, record, strict=True):
                sql_type = dict(spec.columns)[name]
                value = row[name]
                if value is None:
                    assert text == ""
                elif sql_type == "timestamp":
                    assert stamp.match(text) and datetime.fromisoformat(text) == value
                elif sql_type == "double precision":
                    assert float(text) == value
                else:
                    assert text == value


def test_rejects_unknown_format(tmp_path: Path):
    with pytest.raises(ValueError, match="format"):
        generate_dataset(tmp_path, heartbeats=10, seed=1, file_format="xlsx")


def test_cli_generate_writes_files_and_exits_zero(tmp_path: Path):
    from daybook.generate.cli import generate

    result = CliRunner().invoke(
        generate,
        ["--heartbeats", "1500", "--seed", "2", "--format", "csv", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["clients.csv", "devices.csv", "heartbeats-00000.csv", "users.csv"]
    with (tmp_path / "heartbeats-00000.csv").open() as handle:
        assert sum(1 for _ in handle) == 1500 + 1


def test_cli_generate_refuses_a_bad_format_with_a_usage_error(tmp_path: Path):
    from daybook.generate.cli import generate

    result = CliRunner().invoke(generate, ["--format", "xml", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "xml" in result.output
    assert "Traceback" not in result.output
