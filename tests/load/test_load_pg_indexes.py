"""PostgreSQL: the first (bulk) load leaves raw.heartbeats with every index, and a warehouse
indexed by an earlier version (a hash index on heartbeat_id) is moved to the current indexes by
its next load, which still skips every row already present."""

from __future__ import annotations

from collections import Counter

from support import read_table

from daybook.load import load_files
from daybook.load.pg_indexes import BULK_INDEXES, KEPT_INDEXES, RETIRED_INDEXES
from load.rows import file_rows, table_rows


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
