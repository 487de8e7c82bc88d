"""``daybook load`` on Spark refuses bad input as on the other backends: header errors name the
columns, a bad value names line and column, an entity without its key or with an id that is not
a lowercase UUID is refused, and nothing of a refused call is loaded; entities delivered again
replace earlier rows (the last row wins, with the notices). Each test empties the session's
Spark server first (``spark_warehouse``)."""

from __future__ import annotations

from collections import Counter

import pytest
from support import read_table

from daybook.load import load_files
from load.cli_rows import LEAKS, USER, client, run_load, user, write_csv
from load.rows import assert_refused, counts, csv_records, damaged
from load.rows import write_csv as write_csv_columns

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build


def test_header_errors_name_the_columns(spark_warehouse, csv_files, tmp_path):
    load_files(spark_warehouse, "users", csv_files["users"])
    columns, records = csv_records(csv_files["users"][0])
    for record in records:
        record.pop("email")
        record["nickname"] = "x"
    kept = [name for name in columns if name != "email"] + ["nickname"]
    bad = write_csv_columns(tmp_path / "users_bad.csv", kept, records)
    assert_refused(
        spark_warehouse, "users", [bad], "users_bad.csv", "missing column", "email", "nickname"
    )


def test_a_refused_first_load_creates_no_rows(spark_warehouse, csv_files, tmp_path):
    bad = damaged(
        csv_files["heartbeats"][0], tmp_path / "bad_count.csv", 9, "edge_activity_count", "abc"
    )
    message = assert_refused(
        spark_warehouse, "heartbeats", [bad], "bad_count.csv", "line 9", "edge_activity_count"
    )
    assert "abc" in message
    assert counts(spark_warehouse)["heartbeats"] in (None, 0)


def test_redelivered_entities_replace_earlier_rows(spark_warehouse, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "c1.csv", [client()])
    assert run_load(spark_warehouse, "clients", first, monkeypatch=monkeypatch).exit_code == 0
    users = [user(USER, display_name="Ana"), user(USER, display_name="Ana B.")]
    users_file = write_csv(tmp_path / "u1.csv", users)
    result = run_load(spark_warehouse, "users", users_file, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 row repeated an id" in result.output
    rezoned = write_csv(tmp_path / "c2.csv", [client(timezone="Asia/Tokyo")])
    result = run_load(spark_warehouse, "clients", rezoned, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 client replaced earlier rows" in result.output
    assert "1 changed time zone" in result.output
    rows = read_table(spark_warehouse, "select * from raw.users")
    assert [(row["user_id"], row["display_name"]) for row in rows] == [(USER, "Ana B.")]
    zones = Counter(
        row["timezone"] for row in read_table(spark_warehouse, "select * from raw.clients")
    )
    assert zones == Counter({"Asia/Tokyo": 1})


def test_an_entity_without_its_key_is_refused(spark_warehouse, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "c1.csv", [client()])
    assert run_load(spark_warehouse, "clients", first, monkeypatch=monkeypatch).exit_code == 0
    keyless = write_csv(tmp_path / "c2.csv", [client(timezone="UTC"), client(client_id="")])
    result = run_load(spark_warehouse, "clients", keyless, monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "c2.csv: line 3, column client_id" in result.output
    assert not LEAKS.search(result.output), result.output
    zones = [row["timezone"] for row in read_table(spark_warehouse, "select * from raw.clients")]
    assert zones == [client()["timezone"]]


def test_an_entity_id_that_is_not_a_lowercase_uuid_is_refused(spark_warehouse, tmp_path):
    load_files(spark_warehouse, "clients", [write_csv(tmp_path / "c1.csv", [client()])])
    upper = client(client_id=client()["client_id"].upper(), timezone="UTC")
    bad = write_csv(tmp_path / "c2.csv", [client(timezone="Asia/Tokyo"), upper])
    message = assert_refused(spark_warehouse, "clients", [bad], "c2.csv", "line 3", "client_id")
    assert repr(upper["client_id"]) in message and "lowercase canonical UUID" in message


def test_an_instant_past_year_9999_is_refused(spark_warehouse, tmp_path):
    """Spark's timestamps end with year 9999: the file is refused before anything is written."""
    load_files(spark_warehouse, "clients", [write_csv(tmp_path / "c1.csv", [client()])])
    far = client(client_id="00000000-0000-4000-8000-000000000009", timezone="UTC")
    far["created_at"] = "9999-12-31 23:30:00-01:00"
    bad = write_csv(tmp_path / "c2.csv", [client(timezone="Asia/Tokyo"), far])
    message = assert_refused(spark_warehouse, "clients", [bad], "c2.csv", "line 3", "created_at")
    assert repr(far["created_at"]) in message and "years 0001 to 9999" in message
