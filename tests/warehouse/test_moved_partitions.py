"""A refresh that moves the only row out of a partition leaves nothing behind there.

On Spark a refresh overwrites whole partitions, and an overwrite cannot empty one: a
receipt day whose only heartbeat is replaced by an earlier copy received the day
before, and a local day whose only heartbeat moves when its client's time zone changes,
would keep their old rows (a second row for one heartbeat) unless the refresh drops
those partitions (`drop_moved_partitions`). DuckDB and PostgreSQL replace rows by key.
On every backend the refreshed heartbeat models must hold one row per heartbeat, where
an independent reading of the rows puts it, as a full build does. Only the models up to
the validated heartbeats run (the facts' refresh is `test_incremental_equals_full`'s).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from reference import local_day

from daybook.build import run_dbt

from .deliveries import apply
from .scenario import CLIENTS, DEVICES, USERS, heartbeat, insert_raw, query

DT = datetime.fromisoformat
HEARTBEAT_MODELS = ["run", "--quiet", "--select", "+int_heartbeats_validated"]
NEW_ZONE = "America/New_York"

# The only heartbeat received on 2026-03-07 (UTC), and a copy of it received earlier.
LATE = heartbeat("late", "c-ny", "u-ny-1", "d-ny-2", DT("2026-03-06 15:00"), DT("2026-03-07 10:00"))
EARLIER_COPY = LATE | {"received_at_utc": DT("2026-03-06 16:00"), "chrome_activity_count": 7}
EARLIER_COPY["total_activity_count"] += 7 - LATE["chrome_activity_count"]
# The only heartbeat on Kolkata's local 2026-03-09 (20:00 UTC is 01:30 there); in New
# York's zone it is on 2026-03-08.
NIGHT = heartbeat(
    "night", "c-kol", "u-kol-1", "d-kol-1", DT("2026-03-08 20:00"), DT("2026-03-08 20:05")
)
OTHERS = [
    heartbeat("a", "c-ny", "u-ny-1", "d-ny-2", DT("2026-03-05 15:00"), DT("2026-03-05 15:05")),
    heartbeat("b", "c-kol", "u-kol-1", "d-kol-1", DT("2026-03-08 08:00"), DT("2026-03-08 08:05")),
]


def _build(warehouse, *, full: bool) -> None:
    outcome = run_dbt(warehouse, HEARTBEAT_MODELS + (["--full-refresh"] if full else []))
    assert outcome.success, outcome.exception


def _heartbeat_rows(warehouse) -> dict[str, list[tuple]]:
    return {
        "deduplicated": sorted(
            (row["heartbeat_key"], row["received_at_utc"], row["chrome_activity_count"])
            for row in query(warehouse, "select * from intermediate.int_heartbeats_deduplicated")
        ),
        "validated": sorted(
            (row["heartbeat_key"], row["client_id"], row["activity_date"], row["is_valid"])
            for row in query(warehouse, "select * from intermediate.int_heartbeats_validated")
        ),
    }


@pytest.mark.build
@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_rows_moved_out_of_their_partition_leave_nothing_behind(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    insert_raw(
        warehouse,
        {
            "clients": CLIENTS,
            "users": USERS,
            "devices": DEVICES,
            "heartbeats": [LATE, NIGHT, *OTHERS],
        },
    )
    _build(warehouse, full=True)
    kolkata = next(client for client in CLIENTS if client["client_id"] == "c-kol")
    apply(
        warehouse,
        [
            ("insert", {"heartbeats": [EARLIER_COPY]}),
            ("replace", ("clients", kolkata | {"timezone": NEW_ZONE})),
        ],
    )
    _build(warehouse, full=False)
    refreshed = _heartbeat_rows(warehouse)

    # one row per heartbeat, where the raw rows put it (the reference's own zone reading)
    assert refreshed["deduplicated"] == sorted(
        (beat["heartbeat_id"], beat["received_at_utc"], beat["chrome_activity_count"])
        for beat in [EARLIER_COPY, NIGHT, *OTHERS]
    )
    days = {key: day for key, _, day, _ in refreshed["validated"]}
    assert len(days) == len(refreshed["validated"]) == 4
    assert days["night"] == local_day(NIGHT["generated_at_utc"], NEW_ZONE)
    assert days["night"] != local_day(NIGHT["generated_at_utc"], kolkata["timezone"])

    _build(warehouse, full=True)
    assert _heartbeat_rows(warehouse) == refreshed
