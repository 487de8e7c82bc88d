"""Refreshing while a real gunicorn-served API answers: no failed request, new data appears.

Per backend: generate and load a small warehouse, run a first refresh cycle,
serve the API (gunicorn, two workers), then load new heartbeats for one user
and device and refresh again, twice, while four threads keep requesting. Each
answer must be one the reference computation gives for the raw rows before or
after a refresh (never a mix), every request must succeed, and right after a
refresh returns, the API must answer with the new heartbeats counted.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
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

from daybook.bench.servers import start_gunicorn
from daybook.config import Warehouse
from daybook.raw_schema import SOURCE_COUNT_COLUMNS
from daybook.refresh import refresh_once

RAW = ("clients", "users", "devices", "heartbeats")


def raw_rows(warehouse: Warehouse, table: str) -> list[dict]:
    from support import read_table

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


def expected_answers(reference: Any, requests_: list[dict]) -> list[list[dict]]:
    return [
        [
            {"date": bucket.isoformat(), "value": value}
            for bucket, value in series(
                reference,
                entity=request["entity"],
                client_id=request["client_id"],
                entity_id=request["entity_id"],
                metric=request["metric"],
                start=request["start"],
                end=request["end"],
                granularity=request["granularity"],
            )
        ]
        for request in requests_
    ]


def url_of(base: str, request: dict) -> str:
    return (
        f"{base}/v2/clients/{request['client_id']}/analytics/{request['entity']}s/"
        f"{request['entity_id']}/activity?metric={request['metric']}"
        f"&granularity={request['granularity']}&start_date={request['start']}"
        f"&end_date={request['end']}"
    )


@pytest.fixture
def warehouse(
    backend: str, make_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    warehouse = make_warehouse(backend)
    files = generate_dataset(tmp_path / "raw", heartbeats=3_000, seed=19)
    for table in RAW:
        load_files(warehouse, table, files[table])
    refresh_once(warehouse)
    return warehouse


def create_token(env: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.cli", "token", "create", "--all-clients"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip().splitlines()[-1].strip()


def target_of(reference: Any, warehouse: Warehouse) -> dict:
    """The user and device of the newest active cell in the reference."""
    timezones = {row["client_id"]: row["timezone"] for row in raw_rows(warehouse, "clients")}
    client_id, day, user_id, device_id = max(reference.activity, key=lambda key: (key[1], key))
    return {
        "client_id": client_id,
        "user_id": user_id,
        "device_id": device_id,
        "timezone": timezones[client_id],
        "day": day,
    }


def assert_snapshot_matches_build(warehouse: Warehouse) -> None:
    """The published snapshot holds exactly the build's serving tables (incremental publish)."""
    import duckdb

    from daybook.serving.snapshots import SERVING_TABLES, _incremental_keys, current_snapshot

    snapshot = current_snapshot(warehouse)
    assert snapshot is not None and snapshot.generation > 0, "published incrementally"
    assert set(_incremental_keys(warehouse)) >= {
        "fct_activity_daily",
        "fct_user_activity_daily",
        "fct_device_activity_daily",
    }
    with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
        con.execute(f"attach '{snapshot.path}' as served (read_only)")
        for table in SERVING_TABLES:
            for left, right in (("main", "served.main"), ("served.main", "main")):
                extra = con.execute(
                    f"select count(*) from (select * from {left}.{table} "
                    f"except all select * from {right}.{table})"
                ).fetchone()[0]
                assert extra == 0, f"{table}: {extra} rows in {left} only"


def test_refresh_while_serving_never_fails_and_shows_new_heartbeats(
    warehouse: Warehouse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from daybook.load import load_files

    caplog.set_level(logging.INFO, logger="daybook.serving")
    states = [reference_for(warehouse)]
    target = target_of(states[0], warehouse)
    day = target["day"]
    probes = [
        {
            "entity": entity,
            "entity_id": target[f"{entity}_id"],
            "metric": metric,
            "granularity": granularity,
            "client_id": target["client_id"],
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
    env = {
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": os.environ["DAYBOOK_STATE_DIR"],
    }
    headers = {"Authorization": f"Bearer {create_token(env)}"}
    server = start_gunicorn(
        "api",
        "api.app:create_app()",
        env=env,
        log_dir=tmp_path,
        workers=2,
        threads=2,
        ready_path="/healthz",
    )
    allowed: list[set[str]] = [set() for _ in probes]
    lock = threading.Lock()

    def allow(reference: Any) -> list[list[dict]]:
        answers = expected_answers(reference, probes)
        with lock:
            for index, answer in enumerate(answers):
                allowed[index].add(repr(answer))
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
            time.sleep(0.005)  # steady load, with CPU left for the refresh on two cores
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:200]}")
                continue
            data = repr(response.json()["data"])
            with lock:
                if data not in allowed[probe_index]:
                    failures.append(f"probe {probe_index} answered {data}, not a whole state")

    try:
        before = allow(states[0])
        session = requests.Session()
        for index, probe in enumerate(probes):
            answer = session.get(url_of(server.base_url, probe), headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"] == before[index]
        # another client, whose data the refreshes do not touch: its Last-Modified is its own
        known = {row["client_id"] for row in raw_rows(warehouse, "clients")}
        other = min(
            row["client_id"]
            for row in raw_rows(warehouse, "heartbeats")
            if row["client_id"] in known - {target["client_id"]}
        )
        other_listing = f"{server.base_url}/v2/clients/{other}/users"
        other_modified = session.get(other_listing, headers=headers, timeout=30).headers.get(
            "Last-Modified"
        )
        assert other_modified is not None
        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        last_modified = None
        for batch in (1, 2):
            newest = max(row["received_at_utc"] for row in raw_rows(warehouse, "heartbeats"))
            path = new_heartbeats(target, day, newest, tmp_path, batch)
            load_files(warehouse, "heartbeats", [path])
            states.append(reference_for(warehouse))
            after = allow(states[-1])
            assert after != expected_answers(states[-2], probes), "the new heartbeats count"
            served_before = sum(counts)
            cycle = refresh_once(warehouse)
            assert cycle.built and cycle.arrivals.heartbeats == 3
            assert cycle.arrivals.local_days == 1
            assert sum(counts) > served_before, "requests were answered during the refresh"
            for index, probe in enumerate(probes):
                answer = session.get(url_of(server.base_url, probe), headers=headers, timeout=30)
                assert answer.status_code == 200, answer.text
                assert answer.json()["data"] == after[index], f"refresh {batch}, probe {index}"
            # each worker reads the new version's freshness on its first request of it
            deadline = time.monotonic() + 5
            while answer.headers["Last-Modified"] == last_modified and time.monotonic() < deadline:
                time.sleep(0.2)
                answer = session.get(
                    url_of(server.base_url, probes[-1]), headers=headers, timeout=30
                )
            assert answer.headers["Last-Modified"] != last_modified
            unmoved = session.get(other_listing, headers=headers, timeout=30)
            assert unmoved.headers["Last-Modified"] == other_modified, "another client's time"
            if warehouse.backend == "duckdb":
                assert_snapshot_matches_build(warehouse)
            last_modified = answer.headers["Last-Modified"]
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        again = session.get(url_of(server.base_url, probes[0]), headers=headers, timeout=30)
        unchanged = session.get(
            url_of(server.base_url, probes[0]),
            headers={**headers, "If-None-Match": again.headers["ETag"]},
            timeout=30,
        )
        assert unchanged.status_code == 304 and unchanged.content == b""
    finally:
        stop.set()
        server.stop()
    assert failures == [], failures[:5]
    assert "copying it whole" not in caplog.text, "incremental publishes matched the build exactly"
    assert sum(counts) >= 20
