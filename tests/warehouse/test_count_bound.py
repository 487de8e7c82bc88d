"""Counts above the contract's bound are quarantined and never stop a build.

Two heartbeats of one user, device and day with counts of 8e18 each used to overflow
the bigint sum in ``fct_activity_daily`` and fail every build, for every tenant. The
contract bounds each count to 0..2,147,483,647; larger ones are quarantined with the
reason ``count_out_of_range``. Expected marts come from ``tests/reference.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from daybook.build import run_build

from .scenario import (
    batch1,
    expected_marts,
    heartbeat,
    insert_raw,
    merge_batches,
    query,
    read_marts,
)

DT = datetime.fromisoformat
HUGE = 8e18


def huge_heartbeats(prefix: str, received: datetime) -> list[dict]:
    """Two heartbeats of one user-device-day whose counts sum past a bigint, and edge cases."""
    when = DT("2026-03-07 15:00:00")
    return [
        heartbeat(f"{prefix}-a", "c-kol", "u-kol-1", "d-kol-1", when, received, (HUGE, 0, 0, 0, 0)),
        heartbeat(f"{prefix}-b", "c-kol", "u-kol-1", "d-kol-1", when, received, (HUGE, 0, 0, 0, 0)),
        heartbeat(
            f"{prefix}-inf",
            "c-kol",
            "u-kol-1",
            "d-kol-1",
            when,
            received,
            (0, 0, 0, 0, 0),
            total=float("inf"),
        ),
        heartbeat(
            f"{prefix}-just-above",
            "c-kol",
            "u-kol-1",
            "d-kol-1",
            when,
            received,
            (2_147_483_648, 0, 0, 0, 0),
        ),
        # exactly at the bound: valid, and still summed without overflow
        heartbeat(
            f"{prefix}-at-bound",
            "c-kol",
            "u-kol-1",
            "d-kol-1",
            when,
            received,
            (2_147_483_647, 0, 0, 0, 0),
        ),
    ]


def test_counts_above_the_bound_are_quarantined_and_the_build_succeeds(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    first = batch1()
    newest = max(row["received_at_utc"] for row in first["heartbeats"])
    first["heartbeats"] += huge_heartbeats("huge-1", newest - timedelta(hours=1))
    insert_raw(warehouse, first)

    result = run_build(warehouse)
    assert result.success, result.summary()
    expected = expected_marts(first)
    actual = read_marts(warehouse)
    reasons = {key[0]: key[2] for key in expected["quarantine"]}
    assert reasons["huge-1-a"] == reasons["huge-1-b"] == "count_out_of_range"
    assert reasons["huge-1-inf"] == reasons["huge-1-just-above"] == "count_out_of_range"
    assert "huge-1-at-bound" not in reasons
    assert actual == expected  # every tenant's marts, and the quarantine with its reasons

    # the same rows arriving in an incremental build do not stop it either
    second = {"clients": [], "users": [], "devices": [], "heartbeats": []}
    second["heartbeats"] = huge_heartbeats("huge-2", newest + timedelta(hours=2))
    insert_raw(warehouse, second)
    incremental = run_build(warehouse)
    assert incremental.success, incremental.summary()
    assert read_marts(warehouse) == expected_marts(merge_batches(first, second))
    quarantined = query(
        warehouse,
        "select heartbeat_id from fct_heartbeats_quarantined "
        "where invalid_reasons = 'count_out_of_range' order by heartbeat_id",
    )
    assert [row["heartbeat_id"] for row in quarantined] == sorted(
        f"huge-{batch}-{suffix}" for batch in (1, 2) for suffix in ("a", "b", "inf", "just-above")
    )
