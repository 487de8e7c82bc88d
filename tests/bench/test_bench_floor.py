"""The bench's floor statement computes what fct_activity_daily holds.

The floor is the yardstick the full build is measured against (issue 14); if it
did less work than the build (skipped deduplication, validity or the local day)
the ratio would flatter the build. Its rows are checked against the independent
plain-Python reference over the same raw rows, on every backend.
"""

from __future__ import annotations

from reference import compute
from support import read_table

from daybook.bench.floor import COUNTS, FLOOR_TABLE, drop_floor, run_floor
from daybook.generate import generate_dataset
from daybook.load import load_files


def test_floor_matches_the_reference(backend: str, make_warehouse, tmp_path) -> None:
    warehouse = make_warehouse(backend)
    files = generate_dataset(tmp_path / "raw", heartbeats=4_000, seed=11, file_format="parquet")
    for table in ("clients", "users", "devices", "heartbeats"):
        load_files(warehouse, table, files[table])
    raw = {
        table: read_table(warehouse, f"select * from raw.{table}")
        for table in ("clients", "users", "devices", "heartbeats")
    }
    expected = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"]).activity

    result = run_floor(warehouse)

    rows = read_table(warehouse, f"select * from {FLOOR_TABLE}")
    actual = {
        (row["client_id"], row["activity_date"], row["user_id"], row["device_id"]): {
            column: int(row[column]) for column in (*COUNTS, "heartbeat_count")
        }
        for row in rows
    }
    assert result.rows == len(rows) == len(expected) > 0
    assert actual == expected
    drop_floor(warehouse)
    assert read_table(
        warehouse,
        "select count(*) as n from information_schema.schemata where schema_name = 'bench_floor'",
    ) == [{"n": 0}]


def test_floor_runs_under_the_settings_it_is_given(backend: str, make_warehouse, tmp_path) -> None:
    """On DuckDB the floor runs under the build's memory limit, set on its connection (the
    bench passes ``duckdb_build_settings()``); PostgreSQL has no such settings."""
    import duckdb

    warehouse = make_warehouse(backend)
    files = generate_dataset(tmp_path / "raw", heartbeats=500, seed=3, file_format="parquet")
    for table in ("clients", "users", "devices", "heartbeats"):
        load_files(warehouse, table, files[table])

    result = run_floor(warehouse, settings={"memory_limit": "1GB", "threads": "1"})
    drop_floor(warehouse)

    if backend == "postgres":
        assert result.settings == {}
        return
    expected = duckdb.connect()
    expected.execute("set memory_limit = '1GB'")
    (limit,) = expected.execute("select current_setting('memory_limit')").fetchone()
    assert result.settings["memory_limit"] == limit
    assert result.settings["threads"] == "1"
