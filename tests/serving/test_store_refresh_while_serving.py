"""Refreshing while ``daybook serve`` answers from a separate serving store.

Per pair (a DuckDB warehouse publishing to a PostgreSQL store, a PostgreSQL warehouse to a
DuckDB store): build a small warehouse without publishing, start ``daybook serve`` with
``DAYBOOK_SERVING_URL`` set (its first publish fills the store), then load new heartbeats
for one user and device and refresh twice, then publish in full once more, while four
threads keep requesting. Every answer must be one the reference computation gives for the
raw rows before or after a refresh (never a mix, never an error); right after a refresh
the API answers with the new heartbeats counted and a newer ``Last-Modified``; the
refreshes publish only what changed, and afterwards the store's marts equal the
warehouse's row for row.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from reference import compute, series
from support import read_table

from daybook.config import Warehouse
from daybook.raw_schema import SOURCE_COUNT_COLUMNS

pytestmark = pytest.mark.served

RAW = ("clients", "users", "devices", "heartbeats")


def raw_rows(warehouse: Warehouse, table: str) -> list[dict]:
    rows = read_table(warehouse, f"select * from raw.{table}")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime) and value.tzinfo is not None:
                row[key] = value.astimezone(UTC).replace(tzinfo=None)
    return rows


def reference_for(warehouse: Warehouse) -> Any:
    raw = {table: raw_rows(warehouse, table) for table in RAW}
    return compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])


def new_heartbeats(target: dict, day: date, after: datetime, folder: Path, batch: int) -> Path:
    """Three heartbeats at local noon of ``day`` for the target user and device."""
    zone = ZoneInfo(target["timezone"])
    noon = datetime.combine(day, clock(12, 0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    rows = []
    for index in range(3):
        counts = [float(batch + index + source) for source in range(len(SOURCE_COUNT_COLUMNS))]
        rows.append(
            {
                "heartbeat_id": str(uuid.uuid4()),
                "client_id": target["client_id"],
                "user_id": target["user_id"],
                "device_id": target["device_id"],
                "generated_at_utc": noon + timedelta(minutes=index),
                "received_at_utc": after + timedelta(seconds=10 * (index + 1)),
                **dict(zip(SOURCE_COUNT_COLUMNS, counts, strict=True)),
                "total_activity_count": sum(counts),
            }
        )
    table = pa.Table.from_pylist(rows)
    table = table.set_column(4, "generated_at_utc", table.column(4).cast(pa.timestamp("us")))
    table = table.set_column(5, "received_at_utc", table.column(5).cast(pa.timestamp("us")))
    path = folder / f"arrivals-{batch}.parquet"
    pq.write_table(table, path)
    return path


def expected_answers(reference: Any, probes: list[dict]) -> list[str]:
    return [
        repr(
            [
                {"date": bucket.isoformat(), "value": value}
                for bucket, value in series(
                    reference,
                    entity=probe["entity"],
                    client_id=probe["client_id"],
                    entity_id=probe["entity_id"],
                    metric=probe["metric"],
                    start=probe["start"],
                    end=probe["end"],
                    granularity=probe["granularity"],
                )
            ]
        )
        for probe in probes
    ]


def url_of(base: str, probe: dict) -> str:
    return (
        f"{base}/v2/clients/{probe['client_id']}/analytics/{probe['entity']}s/"
        f"{probe['entity_id']}/activity?metric={probe['metric']}"
        f"&granularity={probe['granularity']}&start_date={probe['start']}&end_date={probe['end']}"
    )


def probes_for(reference: Any, warehouse: Warehouse) -> tuple[dict, list[dict]]:
    """The user and device of the newest active cell, and four requests about them."""
    timezones = {row["client_id"]: row["timezone"] for row in raw_rows(warehouse, "clients")}
    client_id, day, user_id, device_id = max(reference.activity, key=lambda key: (key[1], key))
    target = {
        "client_id": client_id,
        "user_id": user_id,
        "device_id": device_id,
        "timezone": timezones[client_id],
        "day": day,
    }
    probes = [
        {
            "entity": entity,
            "entity_id": target[f"{entity}_id"],
            "metric": metric,
            "granularity": granularity,
            "client_id": client_id,
            "start": day - timedelta(days=29),
            "end": day,
        }
        for entity, metric, granularity in (
            ("user", "activity-count", "daily"),
            ("user", "activity-count", "weekly"),
            ("device", "activity-count", "monthly"),
            ("device", "user-count", "daily"),
        )
    ]
    return target, probes


def served_rows(store: Warehouse, table: str) -> list[tuple]:
    """The store's rows of ``table`` (a DuckDB store: its current snapshot), sorted."""
    from daybook.serving import current_snapshot

    if store.backend == "postgres":
        rows = [tuple(row.values()) for row in read_table(store, f"select * from {table}")]
    else:
        import duckdb

        snapshot = current_snapshot(store)
        assert snapshot is not None
        with duckdb.connect(str(snapshot.path), read_only=True) as con:
            rows = con.execute(f"select * from {table}").fetchall()
    return sorted(rows, key=repr)


def generation(store: Warehouse) -> int:
    """Publishes since the store's last full one."""
    from daybook.serving import current_snapshot

    if store.backend == "postgres":
        return read_table(store, "select generation from daybook_meta.serving_publication")[0][
            "generation"
        ]
    snapshot = current_snapshot(store)
    assert snapshot is not None
    return snapshot.generation


@pytest.mark.parametrize(
    "warehouse_backend,store_backend",
    [("duckdb", "postgres"), ("postgres", "duckdb")],
    ids=["duckdb-to-postgres", "postgres-to-duckdb"],
)
def test_refresh_while_serving_from_a_store_sees_old_or_new_and_never_an_error(
    warehouse_backend: str,
    store_backend: str,
    make_warehouse,
    make_store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from daybook.bench.servers import start_app
    from daybook.build import run_build
    from daybook.generate import generate_dataset
    from daybook.load import load_files
    from daybook.publishers import publisher_for
    from daybook.refresh import refresh_once
    from daybook.serving import serving_tables
    from daybook.serving.duckdb_store import publish_duckdb_store
    from daybook.serving.postgres_store import publish_postgres_store
    from daybook.tokens import open_token_store

    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    warehouse = make_warehouse(warehouse_backend)
    store = make_store(store_backend)
    files = generate_dataset(tmp_path / "raw", heartbeats=3_000, seed=23)
    for table in RAW:
        load_files(warehouse, table, files[table])
    assert run_build(warehouse).success  # built, not yet published: serve publishes first
    monkeypatch.setenv("DAYBOOK_SERVING_URL", store.url)
    assert not publisher_for(warehouse).serves(warehouse)

    states = [reference_for(warehouse)]
    target, probes = probes_for(states[0], warehouse)
    token = open_token_store(store).create(None, label="tests")[1]
    headers = {"Authorization": f"Bearer {token}"}
    env = {
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_SERVING_URL": store.url,
        "DAYBOOK_STATE_DIR": os.environ["DAYBOOK_STATE_DIR"],
    }
    server = start_app("api", "api", env=env, log_dir=tmp_path, workers=2, threads=2)
    allowed: list[set[str]] = [set() for _ in probes]
    lock = threading.Lock()

    def allow(reference: Any) -> list[str]:
        answers = expected_answers(reference, probes)
        with lock:
            for index, answer in enumerate(answers):
                allowed[index].add(answer)
        return answers

    stop = threading.Event()
    failures: list[str] = []
    counts = [0, 0, 0, 0]

    def hammer(worker: int) -> None:
        session = requests.Session()
        index = worker
        while not stop.is_set():
            probe_index = index % len(probes)
            index += 1
            try:
                response = session.get(
                    url_of(server.base_url, probes[probe_index]), headers=headers, timeout=30
                )
            except requests.RequestException as error:
                failures.append(f"request failed: {error!r}")
                continue
            counts[worker] += 1
            time.sleep(0.005)
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:200]}")
                continue
            data = repr(response.json()["data"])
            with lock:
                if data not in allowed[probe_index]:
                    failures.append(f"probe {probe_index} answered {data}, not a whole state")

    session = requests.Session()

    def check_now(answers: list[str]) -> requests.Response:
        for index, probe in enumerate(probes):
            answer = session.get(url_of(server.base_url, probe), headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            assert repr(answer.json()["data"]) == answers[index], f"probe {index}"
        return answer

    try:
        last_modified = check_now(allow(states[0])).headers["Last-Modified"]
        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for batch in (1, 2):
            newest = max(row["received_at_utc"] for row in raw_rows(warehouse, "heartbeats"))
            load_files(
                warehouse,
                "heartbeats",
                [new_heartbeats(target, target["day"], newest, tmp_path, batch)],
            )
            states.append(reference_for(warehouse))
            after = allow(states[-1])
            served_before = sum(counts)
            cycle = refresh_once(warehouse)
            assert cycle.built and cycle.arrivals.heartbeats == 3
            assert sum(counts) > served_before, "requests were answered during the refresh"
            assert generation(store) == batch, "the refresh published only what changed"
            answer = check_now(after)
            deadline = time.monotonic() + 5  # a worker re-reads freshness within a second
            while answer.headers["Last-Modified"] == last_modified and time.monotonic() < deadline:
                time.sleep(0.2)
                answer = session.get(
                    url_of(server.base_url, probes[-1]), headers=headers, timeout=30
                )
            assert answer.headers["Last-Modified"] != last_modified
            last_modified = answer.headers["Last-Modified"]
        served_before = sum(counts)
        publish = publish_postgres_store if store_backend == "postgres" else publish_duckdb_store
        publish(warehouse, store, full=True)  # the swap of a full publish, under load
        assert generation(store) == 0
        check_now(expected_answers(states[-1], probes))
        time.sleep(0.5)
        assert sum(counts) > served_before
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        server.stop()
    assert failures == [], failures[:5]
    assert sum(counts) >= 20
    for table in serving_tables():
        built = sorted(
            (tuple(row.values()) for row in read_table(warehouse, f"select * from {table}")),
            key=repr,
        )
        assert served_rows(store, table) == built, table
