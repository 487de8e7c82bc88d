"""Each client's newest heartbeat (``fct_client_freshness``, the API's ``Last-Modified``).

A first build, then an incremental one that delivers a new heartbeat of one client, an
earlier-received copy of another client's newest heartbeat (the copy kept changes, so
that client's time goes *back*, as a full build gives), an earlier copy of a third
client's only heartbeat delivered under another client (the heartbeat moves: the third
client is left with none, so no row), and a heartbeat of a client that does not exist;
a fourth client receives nothing and keeps its time. Expected: per client, the newest
received time among the earliest copies of its heartbeat ids, computed here over the raw
rows.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from reference import compute, newest_received_by_client

from daybook.build import run_build

from .scenario import DT, clients_with_one_user_and_device, heartbeat, insert_raw, query

CLIENTS = ("c-a", "c-b", "c-c", "c-d")


def _entities() -> dict[str, list[dict]]:
    return clients_with_one_user_and_device(dict.fromkeys(CLIENTS, "UTC"), "2026-03-01 08:00:00")


def _beat(heartbeat_id: str, client: str, received: str) -> dict:
    """A valid heartbeat of ``client``'s one user and device, generated when received."""
    at = DT(received)
    return heartbeat(heartbeat_id, client, f"u-{client}", f"d-{client}", at, at)


def _newest_by_client(heartbeats: list[dict]) -> dict[str, datetime]:
    """Each client's newest received time, by the independent reference over the raw rows."""
    entities = _entities()
    ref = compute(entities["clients"], entities["users"], entities["devices"], heartbeats)
    return newest_received_by_client(ref)


def _freshness(warehouse) -> dict[str, datetime]:
    rows = query(warehouse, "select client_id, newest_received_at_utc from fct_client_freshness")
    return {
        row["client_id"]: row["newest_received_at_utc"].replace(tzinfo=None, microsecond=0)
        for row in rows
    }


@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_each_clients_newest_heartbeat_follows_its_own_deliveries(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    first = [
        _beat("a-1", "c-a", "2026-03-03 10:00:00"),
        _beat("a-2", "c-a", "2026-03-03 11:00:00"),
        _beat("b-1", "c-b", "2026-03-03 09:00:00"),
        _beat("c-1", "c-c", "2026-03-03 08:00:00"),
        _beat("d-1", "c-d", "2026-03-03 08:30:00"),
    ]
    insert_raw(warehouse, {**_entities(), "heartbeats": first})
    # dbt's data tests run once, in the incremental build below: the state this test is
    # about (on Spark each run of them costs about half a minute)
    assert run_build(warehouse, exclude=["resource_type:test"]).success
    assert _freshness(warehouse) == _newest_by_client(first)

    second = [
        _beat("b-2", "c-b", "2026-03-03 12:00:00"),
        _beat("a-2", "c-a", "2026-03-03 10:30:00"),  # an earlier copy of a's newest
        _beat("x-1", "c-unknown", "2026-03-03 12:30:00"),  # quarantined, still received
        _beat("c-1", "c-b", "2026-03-03 07:00:00"),  # c's only heartbeat moves to b
    ]
    insert_raw(warehouse, {"heartbeats": second})
    result = run_build(warehouse)  # incremental, with dbt's data tests

    assert result.success, result.summary()
    expected = _newest_by_client(first + second)
    assert expected["c-a"] == DT("2026-03-03 10:30:00"), "the reference keeps the earlier copy"
    assert "c-c" not in expected and expected["c-d"] == DT("2026-03-03 08:30:00")
    assert _freshness(warehouse) == expected
