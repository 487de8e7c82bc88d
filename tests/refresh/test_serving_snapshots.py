"""Snapshot publishing and switching on DuckDB, proved on a small hand-made build database.

The build database here holds the serving tables with a ``version`` column
that each "build" sets for every row, so a reader can tell whether one answer
mixed two builds (it must never).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from daybook.config import Warehouse, parse_database_url
from daybook.serving import (
    SERVING_TABLES,
    ServingError,
    SnapshotReader,
    collect_garbage,
    current_snapshot,
    freshness,
    publish_snapshot,
    serving_dir,
)
from daybook.warehouse import connect

BASE_RECEIVED = datetime(2026, 3, 1, 12, 0, 0)


def fake_build(warehouse: Warehouse, version: int, rows: int = 200) -> datetime:
    """(Re)write every serving table and raw heartbeats as build number ``version``."""
    assert warehouse.duckdb_path is not None
    newest = BASE_RECEIVED + timedelta(minutes=5 * version)
    con = connect(warehouse)  # as daybook opens it (the file is attached as `daybook`)
    try:
        con.execute("create schema if not exists raw")
        con.execute(
            "create or replace table raw.heartbeats as select "
            "?::timestamp - to_minutes(i::bigint) as received_at_utc from range(?) t(i)",
            [newest, rows],
        )
        for name in SERVING_TABLES:
            con.execute(
                f"create or replace table main.{name} as select "
                "'c' || (i % 3) as client_id, 'u' || (i % 7) as user_id, "
                "'d' || (i % 5) as device_id, date '2026-01-01' + (i % 90)::int as activity_date, "
                "date '2026-01-01' + i::int as date_day, ?::int as version "
                "from range(?) t(i)",
                [version, rows],
            )
    finally:
        con.close()
    return newest.replace(tzinfo=UTC)


@pytest.fixture
def duck(tmp_path: Path) -> Warehouse:
    return parse_database_url(f"duckdb://{tmp_path / 'build.duckdb'}")


def test_publish_copies_serving_tables_sorted_with_freshness(duck: Warehouse) -> None:
    newest = fake_build(duck, version=1)
    path = publish_snapshot(duck)

    snapshot = current_snapshot(duck)
    assert snapshot is not None and snapshot.path == path and path.exists()
    assert snapshot.newest_received_at == newest
    assert freshness(duck) == newest
    with duckdb.connect(str(path), read_only=True) as con:
        for name in SERVING_TABLES:
            assert con.execute(f"select count(*) from {name}").fetchone() == (200,)
        users = con.execute(
            "select client_id, user_id, activity_date from fct_user_activity_daily"
        ).fetchall()
        assert users == sorted(users), "snapshot rows are clustered by (client, user, day)"
        meta = con.execute("select newest_received_at_utc from daybook_snapshot").fetchone()
        assert meta == (newest.replace(tzinfo=None),)


def test_publish_refuses_an_unbuilt_warehouse_and_leaves_nothing(duck: Warehouse) -> None:
    duckdb.connect(str(duck.duckdb_path)).close()
    with pytest.raises(ServingError, match="fct_activity_daily"):
        publish_snapshot(duck)
    assert current_snapshot(duck) is None
    assert list(serving_dir(duck).glob("snapshot-*")) == []


def test_reader_switches_on_the_next_query_and_in_flight_queries_finish(duck: Warehouse) -> None:
    fake_build(duck, version=1)
    publish_snapshot(duck)
    reader = SnapshotReader(duck)
    query = "select min(version), max(version) from fct_user_activity_daily"
    with reader.connection() as pinned:
        assert pinned.execute(query).fetchone() == (1, 1)
        fake_build(duck, version=2)
        publish_snapshot(duck)
        # the pinned cursor keeps reading the snapshot it started on
        assert pinned.execute(query).fetchone() == (1, 1)
    with reader.connection() as con:
        assert con.execute(query).fetchone() == (2, 2)
    assert reader.thread_snapshot() == current_snapshot(duck)
    reader.close()


def test_reader_without_a_snapshot_says_what_to_run(duck: Warehouse) -> None:
    reader = SnapshotReader(duck)
    with pytest.raises(ServingError, match="daybook build"), reader.connection():
        pass


def test_concurrent_readers_never_fail_nor_mix_builds(duck: Warehouse) -> None:
    fake_build(duck, version=0)
    publish_snapshot(duck, grace_seconds=0)
    reader = SnapshotReader(duck)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[set[int]] = []

    def read_forever() -> None:
        versions: set[int] = set()
        seen.append(versions)  # read by the main thread while this one runs
        try:
            while not stop.is_set():
                with reader.connection() as con:
                    low, high, count = con.execute(
                        "select min(version), max(version), count(*) from fct_device_activity_daily"
                    ).fetchone()
                assert low == high and count == 200, (low, high, count)
                versions.add(low)
                time.sleep(0.002)  # leave the publisher some CPU on a small machine
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=read_forever) for _ in range(4)]
    for thread in threads:
        thread.start()
    for version in range(1, 6):
        fake_build(duck, version=version)
        publish_snapshot(duck, grace_seconds=0)
        time.sleep(0.05)
    # every reader goes on until it has read the last build (or fails): a fixed wait
    # could end a reader stalled on a loaded machine before it got there
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not errors and not all(5 in v for v in seen):
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    reader.close()
    assert errors == []
    assert all(5 in versions for versions in seen), seen
    assert len(set().union(*seen)) >= 2, "readers saw the switch happen"


def _read_in_other_process(url: str, ready, stop, queue: multiprocessing.Queue) -> None:
    reader = SnapshotReader(parse_database_url(url))
    versions: list[int] = []
    try:
        while not stop.is_set():
            with reader.connection() as con:
                low, high = con.execute(
                    "select min(version), max(version) from fct_activity_daily"
                ).fetchone()
            if low != high:
                raise AssertionError(f"mixed builds {low} and {high}")
            versions.append(low)
            ready.set()
            time.sleep(0.01)
        with reader.connection() as con:
            versions.append(
                con.execute("select max(version) from fct_activity_daily").fetchone()[0]
            )
        queue.put(("ok", versions))
    except Exception as error:
        queue.put(("error", repr(error)))


def test_another_process_reads_while_this_one_builds_and_publishes(duck: Warehouse) -> None:
    """The point of snapshots: the writer's lock on the build file never blocks the API."""
    fake_build(duck, version=1)
    publish_snapshot(duck)
    context = multiprocessing.get_context("spawn")
    ready, stop, queue = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=_read_in_other_process, args=(duck.url, ready, stop, queue))
    process.start()
    assert ready.wait(120), "the reading process started"
    # hold the build file's write lock throughout (opened as daybook opens it: in this
    # process a second, direct open of the file would conflict with daybook's attach)
    writer = connect(duck)
    try:
        for version in range(2, 5):
            time.sleep(0.2)
            fake_build(duck, version=version)
            publish_snapshot(duck)
    finally:
        writer.close()
    time.sleep(0.2)
    stop.set()
    status, payload = queue.get(timeout=60)
    process.join(timeout=30)
    assert status == "ok", payload
    assert payload[0] == 1 and payload[-1] == 4
    assert payload == sorted(payload)


def test_garbage_collection_keeps_the_newest_and_spares_open_readers(duck: Warehouse) -> None:
    fake_build(duck, version=1)
    publish_snapshot(duck)
    reader = SnapshotReader(duck)
    with reader.connection() as old:
        first = reader.thread_snapshot()
        assert first is not None
        for version in range(2, 6):
            fake_build(duck, version=version)
            publish_snapshot(duck, keep=2, grace_seconds=3600)
        files = sorted(serving_dir(duck).glob("snapshot-*.duckdb"))
        assert len(files) == 5, "within the grace period nothing is deleted"
        past = time.time() - 7200
        for path in files[:-1]:
            os.utime(path, (past, past))
        removed = collect_garbage(duck, keep=2, grace_seconds=3600)
        assert len(removed) == 3 and first.path in removed
        assert sorted(serving_dir(duck).glob("snapshot-*.duckdb")) == files[-2:]
        # a connection opened before the delete keeps reading the unlinked file
        assert old.execute("select max(version) from fct_activity_daily").fetchone() == (1,)
    with reader.connection() as con:
        assert con.execute("select max(version) from fct_activity_daily").fetchone() == (5,)
    reader.close()


def test_freshness_follows_the_published_snapshot(duck: Warehouse) -> None:
    assert freshness(duck) is None, "nothing published yet"
    first = fake_build(duck, version=1)
    publish_snapshot(duck)
    assert freshness(duck) == first
    second = fake_build(duck, version=2)
    assert freshness(duck) == first, "a build alone changes nothing served"
    publish_snapshot(duck)
    assert freshness(duck) == second > first


def test_a_serving_worker_binds_parameters_without_importing_pandas(duck: Warehouse) -> None:
    """Run in a fresh interpreter: the guard is process-wide by design."""
    fake_build(duck, version=3)
    publish_snapshot(duck)
    script = (
        "import sys\n"
        "from daybook.serving import SnapshotDataReader, keep_pandas_out_of_duckdb\n"
        "from daybook.config import parse_database_url\n"
        "assert keep_pandas_out_of_duckdb()\n"
        f"reader = SnapshotDataReader(parse_database_url({duck.url!r}))\n"
        "rows = reader.fetch_all('select count(*), max(version) from fct_activity_daily "
        "where client_id = ?', ['c1'])\n"
        "print(rows, sorted(m for m in ('pandas', 'pyarrow') if sys.modules.get(m)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    expected = sum(1 for i in range(200) if i % 3 == 1)
    assert completed.stdout.strip() == f"[({expected}, 3)] []"


def _write_manifest(warehouse: Warehouse, keys: dict[str, list[str]]) -> None:
    import json

    nodes = {
        f"model.daybook.{name}": {
            "resource_type": "model",
            "name": name,
            "config": {"materialized": "incremental", "unique_key": key},
        }
        for name, key in keys.items()
    }
    path = warehouse.state_dir / "dbt" / "target" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"nodes": nodes}))


def _same_tables(warehouse: Warehouse) -> None:
    snapshot = current_snapshot(warehouse)
    assert snapshot is not None
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{snapshot.path}' as served (read_only)")
        for table in SERVING_TABLES:
            for left, right in (("main", "served.main"), ("served.main", "main")):
                rows = con.execute(
                    f"select * from {left}.{table} except all select * from {right}.{table}"
                ).fetchall()
                assert rows == [], (table, left, rows[:3])


def test_incremental_publish_applies_exactly_the_keys_dbt_rewrote(
    duck: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    """Like dbt's delete+insert: rows of rewritten keys carry a newer refreshed_at_utc."""
    caplog.set_level(logging.INFO, logger="daybook.serving")
    fact = "fct_activity_daily"
    fake_build(duck, version=1)
    with duckdb.connect(str(duck.duckdb_path)) as con:
        con.execute(
            f"create or replace table {fact} as select *, timestamp '2026-03-01' "
            f"as refreshed_at_utc from {fact}"
        )
    _write_manifest(duck, {fact: ["client_id", "activity_date"]})
    publish_snapshot(duck)
    assert current_snapshot(duck).generation == 0

    with duckdb.connect(str(duck.duckdb_path)) as con:
        # dbt rewrites partition (c1, 2026-01-02): one row changes, one disappears, one appears
        con.execute(
            f"delete from {fact} where client_id = 'c1' and activity_date = date '2026-01-02'"
        )
        con.execute(
            f"insert into {fact} select 'c1', 'u-new', 'd-new', date '2026-01-02', "
            "date '2026-01-02', 9, timestamp '2026-03-01 00:05'"
        )
    publish_snapshot(duck)
    assert current_snapshot(duck).generation == 1
    _same_tables(duck)

    with duckdb.connect(str(duck.duckdb_path)) as con:
        con.execute(f"update {fact} set version = 7 where client_id = 'c0' and user_id = 'u0'")
    publish_snapshot(duck)
    with duckdb.connect(str(current_snapshot(duck).path), read_only=True) as con:
        changed = con.execute(f"select count(*) from {fact} where version = 7").fetchone()[0]
    assert changed == 0, "a row changed without a newer refreshed_at_utc is not republished"
    assert "copying it whole" not in caplog.text

    with duckdb.connect(str(duck.duckdb_path)) as con:
        con.execute(f"update {fact} set version = 1 where version = 7")
        con.execute(f"delete from {fact} where client_id = 'c2' and user_id = 'u3'")
    publish_snapshot(duck)
    assert "removed rows" in caplog.text, "a row count mismatch falls back to a whole copy"
    _same_tables(duck)


def test_a_full_copy_is_made_every_few_publishes(
    duck: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    import daybook.serving.snapshots as serving

    monkeypatch.setattr(serving, "FULL_EVERY", 3)
    fake_build(duck, version=1)
    generations = []
    for _ in range(5):
        publish_snapshot(duck)
        generations.append(current_snapshot(duck).generation)
    assert generations == [0, 1, 2, 0, 1]
    _same_tables(duck)


TEAM_YAML = """
entities:
  - name: team
    label: Team
    model: dim_teams
    key: team_id
    tenant_key: client_id
    daily_model: fct_team_activity_daily
    display_columns: [team_name]
"""


def test_the_served_tables_follow_the_semantic_yaml(
    duck: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entity added and a mart renamed in semantic/ alone: the snapshot serves the new
    entity's dimension and dense daily mart (sorted by client, team, day) and the renamed
    mart under its new name, with the same rows as the build."""
    import shutil

    import yaml

    semantic = tmp_path / "semantic"
    shutil.copytree(Path(__file__).resolve().parents[2] / "semantic", semantic)
    entities = semantic / "entities.yml"
    device_mart = next(
        entity["model"]
        for entity in yaml.safe_load(entities.read_text())["entities"]
        if entity["name"] == "device"
    )
    entities.write_text(
        entities.read_text().replace(f"model: {device_mart}\n", "model: dim_machines\n")
    )
    (semantic / "team.yml").write_text(TEAM_YAML)
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(semantic))

    fake_build(duck, version=1)
    con = connect(duck)
    try:
        con.execute(f"alter table main.{device_mart} rename to dim_machines")
        con.execute(
            "create table main.dim_teams as select 'c' || (i % 3) as client_id, "
            "'t' || (i % 11) as team_id, 'Team ' || i as team_name from range(40) t(i)"
        )
        con.execute(
            "create table main.fct_team_activity_daily as select 'c' || (i % 3) as client_id, "
            "'t' || (i * 7 % 11) as team_id, date '2026-01-01' + (i % 30)::int as activity_date, "
            "i as total_activity_count from range(300) t(i)"
        )
    finally:
        con.close()
    path = publish_snapshot(duck)

    with duckdb.connect(str(duck.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{path}' as served (read_only)")
        served = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'served'"
            ).fetchall()
        }
        assert {"dim_machines", "dim_teams", "fct_team_activity_daily"} <= served
        assert device_mart not in served
        for table in ("dim_machines", "dim_teams", "fct_team_activity_daily"):
            for left, right in (("main", "served.main"), ("served.main", "main")):
                rows = con.execute(
                    f"select * from {left}.{table} except all select * from {right}.{table}"
                ).fetchall()
                assert rows == [], (table, left, rows[:3])
        days = con.execute(
            "select client_id, team_id, activity_date from served.main.fct_team_activity_daily"
        ).fetchall()
        assert days == sorted(days), "the new entity's days are clustered by (client, team, day)"
