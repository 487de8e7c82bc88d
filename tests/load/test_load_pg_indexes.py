"""PostgreSQL: the first (bulk) load leaves raw.heartbeats with every index, a refused one
leaves them as they were, and a warehouse indexed by an earlier version (a hash index on
heartbeat_id) is moved to the current indexes by its next load, which still skips every row
already present."""

from __future__ import annotations

from collections import Counter

import pytest
from support import read_table

from daybook.load import LoadError, load_files
from daybook.load.pg_indexes import BULK_INDEXES, KEPT_INDEXES, RETIRED_INDEXES
from load.rows import counts, csv_records, damaged, file_rows, table_rows, write_csv


def _index_names(warehouse) -> set[str]:
    rows = read_table(
        warehouse,
        "select indexname from pg_indexes where schemaname = 'raw' and tablename = 'heartbeats'",
    )
    return {row["indexname"] for row in rows}


def test_bulk_load_and_an_earlier_versions_indexes(make_warehouse, csv_files):
    warehouse = make_warehouse("postgres")
    files = csv_files["heartbeats"]
    first = load_files(warehouse, "heartbeats", files)
    expected_rows = Counter(file_rows("heartbeats", files))
    assert first.rows_added == sum(expected_rows.values())
    current = set(BULK_INDEXES) | set(KEPT_INDEXES)
    assert _index_names(warehouse) == current

    import psycopg

    with psycopg.connect(warehouse.pg_conninfo, autocommit=True) as con:
        for name in BULK_INDEXES:
            con.execute(f"drop index raw.{name}")
        for name in RETIRED_INDEXES:
            con.execute(f"create index {name} on raw.heartbeats using hash (heartbeat_id)")
    again = load_files(warehouse, "heartbeats", files)
    assert again.rows_added == 0
    assert _index_names(warehouse) == current
    assert Counter(table_rows(warehouse, "heartbeats")) == expected_rows


def test_a_refused_first_load_keeps_the_empty_tables_indexes(make_warehouse, csv_files, tmp_path):
    """The bulk path drops indexes before copying: a refusal rolls that back with the rows."""
    warehouse = make_warehouse("postgres")
    columns, _ = csv_records(csv_files["heartbeats"][0])
    empty = load_files(warehouse, "heartbeats", [write_csv(tmp_path / "none.csv", columns, [])])
    assert empty.rows_added == 0
    current = set(BULK_INDEXES) | set(KEPT_INDEXES)
    assert _index_names(warehouse) == current
    bad = damaged(csv_files["heartbeats"][0], tmp_path / "bad.csv", 40, "received_at_utc", "soon")
    with pytest.raises(LoadError, match="line 40"):
        load_files(warehouse, "heartbeats", [bad])
    assert _index_names(warehouse) == current
    assert counts(warehouse)["heartbeats"] == 0
