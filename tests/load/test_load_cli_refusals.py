"""Every refused file exits 1 naming file, row and column, with no traceback or SQL and nothing
loaded, through the command line on both backends."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from load.cli_rows import CLIENT, assert_refused, heartbeat, heartbeat_table, run_load, write_csv
from load.rows import counts


def test_text_deep_in_a_parquet_count_column_names_row_and_column(loaded, tmp_path, monkeypatch):
    # small COPY batches: the bad value arrives after rows were already streamed to
    # PostgreSQL, through Arrow's reader, where it used to end in a traceback with SQL
    monkeypatch.setattr("daybook.load.to_postgres.COPY_BATCH_ROWS", 500)
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
    monkeypatch.setattr("daybook.load.to_postgres.COPY_BATCH_ROWS", 500)
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
