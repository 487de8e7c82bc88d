"""The first refresh after a build knows what the build included.

``daybook demo`` (and ``daybook build``) used to leave no refresh state, so the first
``daybook refresh`` rebuilt everything with 0 new heartbeats (9 s after ``make demo``).
A build now records raw's marks; a refresh right after it skips the models. It still
builds when raw changed in a way no received time shows: an entity re-delivered (the
row replaced, same row count) or a heartbeat written straight into raw with an old
received time; and the marts then equal the reference.
"""

from __future__ import annotations

from datetime import timedelta

from warehouse.scenario import batch1, expected_marts, heartbeat, insert_raw, read_marts

from daybook.config import Warehouse
from daybook.pipeline import build_and_publish
from daybook.refresh import refresh_once
from daybook.warehouse import connection


def _counting_build():
    """The real incremental build, counting its calls."""
    from daybook.refresh import incremental_build

    calls: list[Warehouse] = []

    def build(target: Warehouse):
        calls.append(target)
        return incremental_build(target)

    return build, calls


def test_a_refresh_right_after_a_build_does_not_rebuild(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    raw = batch1()
    insert_raw(warehouse, raw)
    assert build_and_publish(warehouse).success

    build, calls = _counting_build()
    cycle = refresh_once(warehouse, build=build)
    assert not cycle.built and cycle.arrivals.heartbeats == 0
    assert calls == []
    assert "nothing new" in cycle.log_line()

    # a re-delivered user (moved to another client): same row count, other content
    moved = next(row for row in raw["users"] if row["user_id"] == "u-ny-2")
    moved = moved | {"client_id": "c-kol"}
    with connection(warehouse) as con:
        con.cursor().execute(
            "delete from raw.users where user_id = "
            + ("?" if warehouse.backend == "duckdb" else "%s"),
            ["u-ny-2"],
        )
        con.commit()
    insert_raw(warehouse, {"users": [moved]})
    raw["users"] = [row for row in raw["users"] if row["user_id"] != "u-ny-2"] + [moved]
    cycle = refresh_once(warehouse, build=build)
    assert cycle.built and len(calls) == 1
    assert read_marts(warehouse) == expected_marts(raw)

    # a heartbeat written straight into raw, received long before the newest one
    oldest = min(row["received_at_utc"] for row in raw["heartbeats"])
    old = heartbeat(
        "hb-written-by-hand",
        "c-ny",
        "u-ny-1",
        "d-ny-2",
        oldest - timedelta(days=20),
        oldest - timedelta(days=20),
        (4, 4, 4, 4, 4),
    )
    insert_raw(warehouse, {"heartbeats": [old]})
    raw["heartbeats"].append(old)
    cycle = refresh_once(warehouse, build=build)
    assert cycle.built and len(calls) == 2
    assert read_marts(warehouse) == expected_marts(raw)

    # and nothing new again: skipped
    cycle = refresh_once(warehouse, build=build)
    assert not cycle.built and len(calls) == 2
