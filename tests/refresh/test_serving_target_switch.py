"""A serving target that lacks the last build gets it from the next refresh, raw unchanged.

``DAYBOOK_SERVING_URL`` may change between commands (a store for speed, then back), and
each command publishes only where it points. A refresh that saw nothing new in raw used to
skip whenever the target served anything, so a target published before the switch kept
the older build for good (found by an acceptance run on Spark: the Spark snapshots served
the first delivery after a refresh into a PostgreSQL store took the second). Here, on
each backend (Spark too), a build publishes to the warehouse's own target, a refresh with new
heartbeats to a DuckDB store, and a refresh with nothing new back to the own target: what
each target serves must equal the independent reference over every heartbeat loaded, and
``daybook serve``'s start line must say when its target serves an older build.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from warehouse.scenario import batch1, expected_marts, heartbeat, insert_raw, query

from daybook.build.run import run_models
from daybook.config import Warehouse, parse_database_url
from daybook.pipeline import build_and_publish, ensure_published
from daybook.refresh import refresh_once
from daybook.serving.store import SERVING_URL_ENV

pytestmark = pytest.mark.build  # dbt builds of its own


def served_activity(target: Warehouse) -> dict:
    """``fct_activity_daily`` as the API would read it from ``target``: a DuckDB store's or
    warehouse's current snapshot, Spark's current snapshot database, or PostgreSQL's own
    tables; keyed like the reference."""
    from daybook.serving.pointer import current_snapshot
    from daybook.serving.spark_snapshots import current_spark_snapshot

    table = "fct_activity_daily"
    if target.backend == "duckdb":
        snapshot = current_snapshot(target)
        assert snapshot is not None, f"nothing published for {target.url}"
        target = parse_database_url(f"duckdb://{snapshot.path}")
    elif target.backend == "spark":
        spark_snapshot = current_spark_snapshot(target)
        assert spark_snapshot is not None, "nothing published on Spark"
        table = f"{spark_snapshot.database}.{table}"
    rows = query(
        target,
        f"select client_id, activity_date, user_id, device_id, total_activity_count from {table}",
    )
    return {
        (row["client_id"], row["activity_date"], row["user_id"], row["device_id"]): row[
            "total_activity_count"
        ]
        for row in rows
    }


def expected_activity(raw: dict) -> dict:
    return {
        key: value["total_activity_count"] for key, value in expected_marts(raw)["activity"].items()
    }


def later_heartbeat(raw: dict, heartbeat_id: str) -> dict:
    """A heartbeat of a known user and device, received after every heartbeat so far."""
    newest = max(row["received_at_utc"] for row in raw["heartbeats"] if row["received_at_utc"])
    return heartbeat(
        heartbeat_id,
        "c-ny",
        "u-ny-1",
        "d-ny-2",
        newest + timedelta(minutes=1),
        newest + timedelta(minutes=2),
        (5, 0, 1, 0, 2),
    )


def test_a_refresh_publishes_the_last_build_where_it_is_missing(
    backend: str, make_warehouse, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    switch_targets(make_warehouse(backend), tmp_path, monkeypatch)


def test_a_refresh_on_spark_publishes_the_last_build_where_it_is_missing(
    spark_warehouse, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark's own target is its snapshot databases (what the acceptance run found stale);
    the store's side, the same code on every backend, is left to the test above."""
    switch_targets(spark_warehouse, tmp_path, monkeypatch, back_to_the_store=False)


def switch_targets(
    warehouse: Warehouse, tmp_path, monkeypatch: pytest.MonkeyPatch, *, back_to_the_store=True
) -> None:
    """Build to the own target, refresh into a store, back, and into the store again."""
    store = parse_database_url(f"duckdb://{tmp_path / 'store' / 'serving.duckdb'}")
    raw = batch1()
    insert_raw(warehouse, raw)
    monkeypatch.delenv(SERVING_URL_ENV, raising=False)
    assert build_and_publish(warehouse, build=run_models).success  # no data tests: not the point

    # new heartbeats, refreshed into the store: the own target is now behind
    monkeypatch.setenv(SERVING_URL_ENV, store.url)
    arrived = later_heartbeat(raw, "hb-into-the-store")
    insert_raw(warehouse, {"heartbeats": [arrived]})
    raw["heartbeats"].append(arrived)
    assert refresh_once(warehouse).built
    assert served_activity(store) == expected_activity(raw)

    # back to the own target: nothing new in raw, but the last build is published there
    # (PostgreSQL's API reads the built tables themselves: never behind, nothing to publish)
    monkeypatch.delenv(SERVING_URL_ENV)
    snapshots = warehouse.backend != "postgres"
    assert ("not the last build" in ensure_published(warehouse)) == snapshots
    cycle = refresh_once(warehouse)
    assert not cycle.built and cycle.published == snapshots
    assert ("skipped build; published the last build" in cycle.log_line()) == snapshots
    assert served_activity(warehouse) == expected_activity(raw)
    assert "not the last build" not in ensure_published(warehouse)
    again = refresh_once(warehouse)  # now it holds it: nothing to do
    assert not again.built and not again.published
    assert again.log_line().endswith("skipped build")
    if not back_to_the_store:
        return

    # a build the store lacks: serve's start line says so, the next refresh publishes there
    arrived = later_heartbeat(raw, "hb-into-the-own-target")
    insert_raw(warehouse, {"heartbeats": [arrived]})
    raw["heartbeats"].append(arrived)
    assert refresh_once(warehouse).built
    monkeypatch.setenv(SERVING_URL_ENV, store.url)
    assert "not the last build" in ensure_published(warehouse)
    assert served_activity(store) != expected_activity(raw)  # still the older build
    cycle = refresh_once(warehouse)
    assert not cycle.built and cycle.published
    assert served_activity(store) == expected_activity(raw)
    assert "not the last build" not in ensure_published(warehouse)
