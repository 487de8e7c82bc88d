"""The API straight from a Spark warehouse (no serving store), through a rebuild.

The session's sample marts (built by dbt on DuckDB) are written into the Spark server, a
snapshot is published (``daybook.serving.spark_snapshots``), and the API over the Spark
warehouse must answer random requests for users, devices and whole clients exactly as the
independent reference computes from the sample's raw rows. Then every mart is dropped and
written again (what a dbt rebuild on Spark does, which made 38 of 86 direct reads fail)
and published twice while four threads keep asking: every answer must be a 200 with the
reference's numbers, and the API must move to the new snapshot. ``daybook serve`` on an
``sc://`` URL (gunicorn forks its workers after the first publish) answers the same way.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from in_process_api import InProcess
from served_api import activity_path, expected_body, start_server
from spark_marts import answers_like_the_reference, copy_marts_to_spark

from daybook.config import Warehouse
from daybook.serving.spark_reader import SparkSnapshotReader
from daybook.serving.spark_snapshots import KEEP_SNAPSHOTS, SNAPSHOT_PREFIX

pytestmark = pytest.mark.build  # a Spark server of its own, like the builds


def snapshot_databases(warehouse: Warehouse) -> list[str]:
    from daybook.warehouse import connection

    with connection(warehouse) as con:
        rows = con.cursor().execute(f"show databases like '{SNAPSHOT_PREFIX}*'").fetchall()
    return sorted(str(row[0]) for row in rows)


def probes(api: InProcess) -> list[tuple[str, dict, dict]]:
    """Four fixed requests and the reference's answers to them."""
    found = []
    for entity, metric, granularity in (
        ("user", "activity-count", "daily"),
        ("device", "user-count", "weekly"),
        ("client", "activity-count", "monthly"),
        ("user", "activity-count", "quarterly"),
    ):
        client, entity_id = api.active_entities(entity)[0]
        start, end = date(2025, 11, 1), date(2026, 1, 29)
        params = {
            "metric": metric,
            "granularity": granularity,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        want = expected_body(api, entity, client, entity_id, metric, start, end, granularity)
        found.append((activity_path(client, entity, entity_id), params, want))
    return found


def test_the_api_straight_from_spark_answers_like_the_reference_through_rebuilds(
    spark_warehouse, built_warehouses, samples, rng
) -> None:
    from api.app import create_app
    from daybook.publishers import publisher_for

    copy_marts_to_spark(built_warehouses["duckdb"].warehouse, spark_warehouse)
    publisher = publisher_for(spark_warehouse)
    assert not publisher.serves(spark_warehouse)
    first = publisher.publish(spark_warehouse)
    assert first is not None and publisher.serves(spark_warehouse)
    sample = samples["duckdb"]
    api = InProcess(
        backend="spark",
        warehouse=spark_warehouse,
        reference=sample.reference,
        clients=sample.raw["clients"],
        users=sample.raw["users"],
        devices=sample.raw["devices"],
        app=create_app({"warehouse": spark_warehouse}),
    )
    reader = api.app.extensions["daybook"].reader
    try:
        answers_like_the_reference(api, rng, per_entity=4)
        assert reader.data_version() == first.snapshot_id

        token, asks = api.token(), probes(api)
        stop, failures, answered = threading.Event(), [], [0]

        def ask(worker: int) -> None:
            index = worker
            while not stop.is_set():
                path, params, want = asks[index % len(asks)]
                index += 1
                answer = api.get(path, token, params=params)
                answered[0] += 1
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code}: {answer.text[:300]}")
                elif answer.json() != want:
                    failures.append(f"{path} {params}: {answer.json()} is not the reference's")

        threads = [threading.Thread(target=ask, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        try:
            published = []
            for _ in range(2):
                copy_marts_to_spark(built_warehouses["duckdb"].warehouse, spark_warehouse)
                published.append(publisher.publish(spark_warehouse))
            deadline = time.monotonic() + 30
            while reader.data_version() != published[-1].snapshot_id:
                assert time.monotonic() < deadline, "the API did not move to the new snapshot"
                time.sleep(0.2)
            time.sleep(1.5)  # requests on the new snapshot too
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        assert not failures, failures[:5]
        assert answered[0] >= 8, answered[0]

        for _ in range(2):  # old snapshots go; the newest KEEP_SNAPSHOTS stay
            publisher.publish(spark_warehouse)
        kept = snapshot_databases(spark_warehouse)
        assert len(kept) == KEEP_SNAPSHOTS, kept
        assert first.name not in kept

        # a publish is read by the next request, not a look-up interval later: a reader
        # that would look the view up only hourly moves at once (the publisher's local hint)
        patient = SparkSnapshotReader(spark_warehouse, pointer_ttl=3600)
        try:
            before = patient.data_version()
            latest = publisher.publish(spark_warehouse)
            assert latest is not None and latest.snapshot_id != before
            assert patient.data_version() == latest.snapshot_id
        finally:
            patient.close()
    finally:
        api.close()


def test_daybook_serve_on_a_spark_url_publishes_and_answers_like_the_reference(
    spark_warehouse, built_warehouses, samples, rng, tmp_path, monkeypatch
) -> None:
    copy_marts_to_spark(built_warehouses["duckdb"].warehouse, spark_warehouse)
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "served" / "state"))
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    sample = samples["duckdb"]
    served = start_server(spark_warehouse, tmp_path / "served", sample.reference, sample.raw)
    try:
        assert snapshot_databases(spark_warehouse), "serve published a first snapshot"
        answers_like_the_reference(served, rng, per_entity=3)
    finally:
        served.stop()
