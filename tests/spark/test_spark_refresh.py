"""``daybook refresh`` on a Spark warehouse (``sc://``, the session's local server).

A small generated dataset is delivered in three parts, split by received time: the
first is loaded and built (``daybook build``), then both later parts are loaded and
``daybook refresh --every 1s`` runs as a command for two cycles (the first builds both
parts, the second finds nothing new). The refresh must report the arrivals an
independent count of the delivered rows gives (heartbeats, client-local days touched,
first and last day), and afterwards the marts on Spark must equal what the reference
computation (``tests/reference.py``) makes of the raw rows. The builds publish to a
DuckDB serving store (``DAYBOOK_SERVING_URL``), whose served daily facts must equal the
reference too.

The arrivals query itself (``daybook.refresh.measure_arrivals``, one text rendered per
dialect) is also checked on all three backends against plain Python: local days across
DST changes and half-hour zones, the received-time bound, and a client whose zone the
database does not know (its heartbeats count, but touch no day: they are quarantined),
which used to fail every refresh cycle with "Unknown TimeZone".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import available_timezones

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from reference import local_day
from support import read_table
from warehouse.scenario import batch1, expected_marts, heartbeat, insert_raw, read_marts

from daybook.config import Warehouse, parse_database_url
from daybook.refresh import measure_arrivals
from daybook.refresh_state import load_state

# a Spark server and dbt builds on it: the build tier
pytestmark = pytest.mark.build

RAW = ("clients", "users", "devices", "heartbeats")
# share of the heartbeats (by received time) in the built part, then in the first refresh
SPLIT = (0.7, 0.85)
CYCLE = re.compile(
    r"refresh: (?P<heartbeats>[\d,]+) heartbeats in, (?P<days>\d+) local days? touched"
    r"(?: \((?P<first>[\d-]+)\.\.(?P<last>[\d-]+)\))?, build [\d.]+s, publish [\d.]+s"
)


def split_by_received(files: Sequence[Path], folder: Path) -> list[Path]:
    """The heartbeat files as three parquet files of consecutive received times (a
    received time never spans two parts, so each part arrives strictly after the last)."""
    table = pa.concat_tables([pq.read_table(path) for path in files])
    table = table.sort_by([("received_at_utc", "ascending")])
    received = table.column("received_at_utc").to_pylist()
    cuts = [0]
    for share in SPLIT:
        cut = int(len(received) * share)
        while 0 < cut < len(received) and received[cut] == received[cut - 1]:
            cut += 1
        cuts.append(cut)
    cuts.append(len(received))
    parts = []
    for number, (start, end) in enumerate(pairwise(cuts)):
        path = folder / f"heartbeats-part{number}.parquet"
        pq.write_table(table.slice(start, end - start), path)
        parts.append(path)
    return parts


def expected_arrivals(parts: Sequence[Path], timezones: dict[str, str]) -> tuple[int, list[date]]:
    """The heartbeat rows of ``parts`` and the sorted client-local days they touch (rows
    with a known client and a generated time: others have no local day)."""
    table = pa.concat_tables([pq.read_table(part) for part in parts])
    assert pc.all(pc.is_valid(table.column("received_at_utc"))).as_py()
    days = {
        local_day(row["generated_at_utc"], timezones[row["client_id"]])
        for row in table.to_pylist()
        if row["client_id"] in timezones and row["generated_at_utc"] is not None
    }
    return table.num_rows, sorted(days)


def daybook(args: list[str], env: dict[str, str]) -> str:
    """Run ``daybook <args>`` as a command; its output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "daybook.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"daybook {' '.join(args)}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def raw_tables(warehouse: Warehouse) -> dict[str, list[dict]]:
    return {table: read_table(warehouse, f"select * from raw.{table}") for table in RAW}


def assert_cycle_reported(line: str, heartbeats: int, days: list[date]) -> None:
    found = CYCLE.search(line)
    assert found, f"not a built cycle's line: {line!r}"
    assert int(found["heartbeats"].replace(",", "")) == heartbeats, line
    assert int(found["days"]) == len(days), line
    assert (found["first"], found["last"]) == (days[0].isoformat(), days[-1].isoformat()), line


def assert_marts_match_the_reference(warehouse: Warehouse, store: Warehouse) -> None:
    """The Spark marts equal the reference's; the store serves the same daily facts."""
    import duckdb

    from daybook.serving.pointer import current_snapshot

    raw = raw_tables(warehouse)
    expected = expected_marts(raw)
    got = read_marts(warehouse)
    for mart in ("activity", "users", "devices", "quarantine"):
        assert got[mart] == expected[mart], f"{mart} differs from the reference"
    snapshot = current_snapshot(store)
    assert snapshot is not None, "nothing published to the serving store"
    with duckdb.connect(str(snapshot.path), read_only=True) as con:
        served = con.execute(
            "select client_id, activity_date, user_id, device_id, total_activity_count, "
            "heartbeat_count from fct_activity_daily"
        ).fetchall()
    assert {
        (client, day, user, device): (total, count)
        for client, day, user, device, total, count in served
    } == {
        key: (cell["total_activity_count"], cell["heartbeat_count"])
        for key, cell in expected["activity"].items()
    }


def test_refresh_on_spark_builds_what_arrived_and_reports_it(
    spark_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    store_url = f"duckdb:///{tmp_path / 'serving' / 'serving.duckdb'}"
    settings = {
        "DAYBOOK_DATABASE_URL": spark_warehouse.url,
        "DAYBOOK_STATE_DIR": str(tmp_path / "state"),
        "DAYBOOK_SERVING_URL": store_url,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {name: value for name, value in os.environ.items() if not name.startswith("SPARK_")}
    store = parse_database_url(store_url)

    files = generate_dataset(tmp_path / "raw", heartbeats=3_000, seed=31, users=12, days=45)
    built, first, second = split_by_received(files["heartbeats"], tmp_path)
    for table in ("clients", "users", "devices"):
        load_files(spark_warehouse, table, files[table])
    load_files(spark_warehouse, "heartbeats", [built])
    daybook(["build"], env)
    assert_marts_match_the_reference(spark_warehouse, store)
    # the build recorded what raw held (so the first refresh counts only what came after)
    state = load_state(spark_warehouse)
    newest = max(pq.read_table(built).column("received_at_utc").to_pylist())
    assert datetime.fromisoformat(state["high_water"]) == newest.replace(tzinfo=UTC)
    assert state["heartbeat_rows"] == pq.read_metadata(built).num_rows

    timezones = {
        row["client_id"]: row["timezone"]
        for row in read_table(spark_warehouse, "select * from raw.clients")
    }
    # two deliveries before one `--every` run: its first cycle builds both, the second
    # finds nothing new (one dbt run on Spark: each costs minutes here)
    load_files(spark_warehouse, "heartbeats", [first])
    load_files(spark_warehouse, "heartbeats", [second])
    output = daybook(["refresh", "--every", "1s", "--cycles", "2"], env)
    cycles = [line for line in output.splitlines() if "refresh: " in line]
    assert len(cycles) == 2, output
    assert_cycle_reported(cycles[0], *expected_arrivals([first, second], timezones))
    assert "refresh: nothing new" in cycles[1], output
    assert_marts_match_the_reference(spark_warehouse, store)


@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_arrivals_count_local_days_and_survive_an_unknown_zone(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    raw = batch1()
    mars = {"client_id": "c-mars", "name": "Mars", "timezone": "Mars/Olympus", "created_at": None}
    again = raw["clients"][0] | {"name": "delivered twice, as a second raw row"}
    raw["clients"] = [*raw["clients"], mars, again]
    newest = max(row["received_at_utc"] for row in raw["heartbeats"])
    raw["heartbeats"] += [
        heartbeat(f"hb-mars-{n}", "c-mars", "u-mars", "d-mars", newest, newest + timedelta(n))
        for n in (1, 2)
    ]
    insert_raw(warehouse, raw)
    zones = {row["client_id"]: row["timezone"] for row in raw["clients"]}
    assert len(zones) == len(raw["clients"]) - 1
    known = set(available_timezones())

    def expected(rows: list[dict]) -> tuple[int, list[date]]:
        days = {
            local_day(row["generated_at_utc"], zones[row["client_id"]])
            for row in rows
            if zones.get(row["client_id"]) in known and row["generated_at_utc"] is not None
        }
        return len(rows), sorted(days)

    for since in (None, newest - timedelta(hours=30)):
        rows = [row for row in raw["heartbeats"] if since is None or row["received_at_utc"] > since]
        count, days = expected(rows)
        bound = since.replace(tzinfo=UTC) if since else None
        arrivals = measure_arrivals(warehouse, bound)
        assert arrivals.heartbeats == count, since
        assert arrivals.local_days == len(days), since
        assert (arrivals.first_day, arrivals.last_day) == (days[0], days[-1]), since
        assert arrivals.high_water == (newest + timedelta(2)).replace(tzinfo=UTC)
        assert arrivals.heartbeat_rows == len(raw["heartbeats"])
        assert arrivals.entity_rows == {
            table: len(raw[table]) for table in ("clients", "users", "devices")
        }
