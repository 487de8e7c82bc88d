"""``load_files`` refuses bad files naming file, line or row, and column, and loads nothing of
the call (every raw table counted before and after); the command line's exit codes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from daybook.load import LoadError, load_files
from daybook.raw_schema import RAW_TABLES
from load import cli_rows
from load.rows import assert_refused, csv_records, damaged, file_rows, write_csv


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
    ("table", "column", "value"),
    [
        ("users", "user_id", "A1D97031-0B1C-4E7A-9F3B-6C2D8E4F5A6B"),  # upper case
        ("devices", "client_id", "a1d970310b1c4e7a9f3b6c2d8e4f5a6b"),  # no hyphens
        ("clients", "client_id", "{a1d97031-0b1c-4e7a-9f3b-6c2d8e4f5a6b}"),  # braces
        ("devices", "device_id", "laptop-7"),
    ],
)
def test_an_entity_id_that_is_not_a_lowercase_uuid_is_refused(
    preloaded, csv_files, tmp_path, table, column, value
):
    bad = damaged(csv_files[table][0], tmp_path / "ids.csv", 4, column, value)
    message = assert_refused(preloaded, table, [bad], "ids.csv", "line 4", f"column {column}")
    assert repr(value) in message and "lowercase canonical UUID" in message


def test_a_parquet_entity_id_that_is_not_a_lowercase_uuid_names_its_row(
    preloaded, csv_files, tmp_path
):
    columns, records = csv_records(csv_files["users"][0])
    table = {name: [record[name] or None for record in records] for name in columns}
    table["created_at"] = [None] * len(records)
    table["client_id"][6] = table["client_id"][6].upper()
    bad = tmp_path / "users.parquet"
    pq.write_table(pa.table({name: pa.array(v, pa.string()) for name, v in table.items()}), bad)
    message = assert_refused(preloaded, "users", [bad], "users.parquet", "row 7", "client_id")
    assert repr(table["client_id"][6]) in message


def test_heartbeat_ids_are_not_checked_at_load(loaded, tmp_path):
    """A heartbeat naming an unknown (here: upper-case) id is data, not a bad file: it loads,
    and the build quarantines it as naming an unknown user (the validity rule's tests)."""
    path = cli_rows.write_csv(
        tmp_path / "upper.csv", [cli_rows.heartbeat(90, user_id=cli_rows.USER.upper())]
    )
    result = load_files(loaded, "heartbeats", [path])
    assert result.rows_added == 1


def test_mixed_line_endings_are_refused_naming_the_first_unlike_line(preloaded, tmp_path):
    header = "client_id,name,timezone,created_at"
    rows = [
        f"aa7cf840-9ca9-46a3-9778-9015d658{n:04d},c{n},UTC,2025-01-01 00:00:00" for n in range(6)
    ]
    ends = ["\r\n"] * 5 + ["\n", "\r\n"]  # the header's and five rows' CRLF, then LF on line 6
    bad = tmp_path / "mixed.csv"
    bad.write_bytes(
        "".join(line + end for line, end in zip([header, *rows], ends, strict=True)).encode()
    )
    message = assert_refused(preloaded, "clients", [bad], "mixed.csv", "line 6", "LF (\\n)")
    assert "CRLF (\\r\\n)" in message and "one line ending" in message


def test_lines_ending_with_cr_alone_are_refused_naming_the_ending(preloaded, tmp_path):
    header = "client_id,name,timezone,created_at"
    rows = [f"aa7cf840-9ca9-46a3-9778-9015d658{n:04d},c{n},UTC,2025-01-01 00:00:00" for n in (1, 2)]
    bad = tmp_path / "classic_mac.csv"
    bad.write_bytes("\r".join([header, *rows, ""]).encode())
    message = assert_refused(preloaded, "clients", [bad], "classic_mac.csv", "line 1")
    assert "ends with CR alone" in message and "LF or CRLF" in message


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
