"""The bench's floor statement computes what fct_activity_daily holds.

The floor is the yardstick the full build is measured against (issue 14); if it
did less work than the build (skipped deduplication, validity or the local day)
the ratio would flatter the build. Its rows are checked against the independent
plain-Python reference over the same raw rows, on every backend (Spark included:
the bench runs the floor there too).

The generated data's duplicate deliveries are identical but for ``received_at_utc``,
and its clients' zones are all known; so rows made here are loaded on top, where the
choice matters: an earlier copy with other counts (it must win), a copy received at an
unknown time (null: it must lose, on Spark too, whose ascending order puts nulls
first), an empty heartbeat id (missing), clients whose zone is unknown or a fixed
offset, and counts that are NaN, infinite or beyond the contract's bound.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reference import compute
from support import as_uuid, read_table

from daybook.bench.floor import COUNTS, FLOOR_SCHEMA, FLOOR_TABLE, drop_floor, run_floor
from daybook.generate import generate_dataset
from daybook.load import load_files
from daybook.raw_schema import RAW_TABLES

TABLES = ("clients", "users", "devices", "heartbeats")
ALL_BACKENDS = ["duckdb", "postgres", "spark"]
# zones none of the engines (nor Python's zoneinfo) knows by that name; ZoneId parses the
# fixed offset, which the validity rule refuses on every backend
UNKNOWN_ZONES = {"mars": "Mars/Olympus", "offset": "+05:00"}


def _write(path: Path, table: str, rows: list[dict]) -> Path:
    """``rows`` as a Parquet file in ``raw.<table>``'s layout (ids text, counts double)."""
    kinds = {"timestamp": pa.timestamp("us"), "double precision": pa.float64()}
    schema = pa.schema(
        [(name, kinds.get(kind, pa.string())) for name, kind in RAW_TABLES[table].columns]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _edge_rows(raw: dict[str, list[dict]], folder: Path) -> dict[str, Path]:
    """Rows on top of the generated ones, built from valid generated heartbeats."""
    expected = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    valid = sorted(expected.valid, key=lambda row: row["heartbeat_id"])
    assert len(valid) > 20
    earlier, unknown_time, no_id, *others = valid
    hour = timedelta(hours=1)
    clients, users, devices, heartbeats = [], [], [], []
    for suffix, zone in UNKNOWN_ZONES.items():
        client_id = as_uuid(f"c-floor-{suffix}")
        user_id, device_id = as_uuid(f"u-{suffix}"), as_uuid(f"d-{suffix}")
        clients.append(
            {"client_id": client_id, "name": suffix, "timezone": zone, "created_at": None}
        )
        users.append(
            {"user_id": user_id, "client_id": client_id, "email": None,
             "display_name": None, "created_at": None}
        )  # fmt: skip
        devices.append(
            {"device_id": device_id, "client_id": client_id, "hostname": None,
             "platform": None, "created_at": None}
        )  # fmt: skip
        heartbeats.append(
            others[0]
            | {"heartbeat_id": f"hb-floor-{suffix}", "client_id": client_id,
               "user_id": user_id, "device_id": device_id}
        )  # fmt: skip

    def more(row: dict, by: float) -> dict:
        return row | {
            "chrome_activity_count": row["chrome_activity_count"] + by,
            "total_activity_count": row["total_activity_count"] + by,
        }

    heartbeats += [
        # received before the copy loaded first, with other counts: this copy is the earliest
        more(earlier, 7) | {"received_at_utc": earlier["received_at_utc"] - hour},
        # received at an unknown time: never the earliest copy
        more(unknown_time, 5) | {"received_at_utc": None},
        # an empty id is a missing id (quarantined), not one more heartbeat
        no_id | {"heartbeat_id": ""},
        # counts: NaN and infinity are not counts; 3e9 is beyond the contract's bound
        others[1] | {"heartbeat_id": "hb-floor-nan", "edge_activity_count": float("nan")},
        others[2] | {"heartbeat_id": "hb-floor-inf", "total_activity_count": float("inf")},
        more(others[3], 3e9) | {"heartbeat_id": "hb-floor-big"},
        # a valid one beside them, so the file's rows are not all rejected
        others[4] | {"heartbeat_id": "hb-floor-valid"},
    ]
    return {
        table: _write(folder / f"{table}-edge.parquet", table, rows)
        for table, rows in (
            ("clients", clients),
            ("users", users),
            ("devices", devices),
            ("heartbeats", heartbeats),
        )
    }


def _loaded(warehouse, folder: Path, heartbeats: int, seed: int, edges: bool) -> dict:
    """Generated raw data (and the edge rows) loaded into ``warehouse``; its raw rows back."""
    files = generate_dataset(folder, heartbeats=heartbeats, seed=seed, file_format="parquet")
    for table in TABLES:
        load_files(warehouse, table, files[table])
    raw = {table: read_table(warehouse, f"select * from raw.{table}") for table in TABLES}
    if not edges:
        return raw
    extra = _edge_rows(raw, folder)
    for table in TABLES:
        load_files(warehouse, table, [extra[table]])
    return {table: read_table(warehouse, f"select * from raw.{table}") for table in TABLES}


def _floor_schema_exists(warehouse) -> bool:
    if warehouse.backend == "spark":
        rows = read_table(warehouse, "show databases")
        return any(FLOOR_SCHEMA in row.values() for row in rows)
    return read_table(
        warehouse,
        "select count(*) as n from information_schema.schemata "
        f"where schema_name = '{FLOOR_SCHEMA}'",
    ) != [{"n": 0}]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_floor_matches_the_reference(backend: str, make_warehouse, tmp_path) -> None:
    warehouse = make_warehouse(backend)
    raw = _loaded(warehouse, tmp_path / "raw", heartbeats=4_000, seed=11, edges=True)
    assert "" in {row["heartbeat_id"] for row in raw["heartbeats"]}  # the edge rows loaded
    assert any(row["received_at_utc"] is None for row in raw["heartbeats"])
    expected = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"]).activity
    unknown_zone_clients = {as_uuid(f"c-floor-{suffix}") for suffix in UNKNOWN_ZONES}
    assert not any(key[0] in unknown_zone_clients for key in expected)

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
    assert not _floor_schema_exists(warehouse)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_floor_runs_under_the_settings_it_is_given(backend: str, make_warehouse, tmp_path) -> None:
    """On DuckDB the floor runs under the build's memory limit, set on its connection (the
    bench passes ``duckdb_build_settings()``); PostgreSQL has no such settings; on Spark it
    runs on the build's server, whose settings it reports (DuckDB's are not Spark's)."""
    import duckdb

    warehouse = make_warehouse(backend)
    _loaded(warehouse, tmp_path / "raw", heartbeats=500, seed=3, edges=False)

    result = run_floor(warehouse, settings={"memory_limit": "1GB", "threads": "1"})
    drop_floor(warehouse)

    if backend == "postgres":
        assert result.settings == {}
        return
    if backend == "spark":
        assert set(result.settings) == {
            "spark.master",
            "spark.driver.memory",
            "spark.sql.shuffle.partitions",
        }
        assert result.settings["spark.master"].startswith("local[")
        assert int(result.settings["spark.sql.shuffle.partitions"]) > 0
        return
    expected = duckdb.connect()
    expected.execute("set memory_limit = '1GB'")
    (limit,) = expected.execute("select current_setting('memory_limit')").fetchone()
    assert result.settings["memory_limit"] == limit
    assert result.settings["threads"] == "1"
