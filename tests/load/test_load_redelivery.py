"""Re-delivered entities replace the earlier row (the row loaded last wins, within one call the
last row of the last file) and the command says what changed, on both backends."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from load.cli_rows import (
    CLIENT,
    DEVICE,
    OTHER_CLIENT,
    A,
    B,
    C,
    client,
    rows_by_id,
    run_load,
    user,
    write_csv,
)


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
