"""Property: after any sequence of deliveries the contract allows, incremental builds
reach exactly the marts a full build of the same raw data gives.

Two warehouses of a backend receive the same raw writes, step by step: one is built
incrementally after each step (``dbt run``, as ``daybook refresh`` does), the other
with ``--full-refresh``. After every step each mart (facts, dims, quarantine) must
match row for row, lineage stamps aside. Deliveries are drawn at random (seeded, so a
failure replays): new heartbeats (some invalid, some without an id), duplicates,
copies of kept heartbeats arriving after the lookback window (received later, and
received *earlier* than the kept copy), backfills written straight into raw, entities
delivered again (a user or device moved to another client, a client's new time zone,
a new creation time) either replacing the row (as ``daybook load`` does) or as a
second raw row, and entities arriving after their heartbeats.

Each backend runs one seed whose steps draw every kind of delivery (asserted, so a change
to the drawing cannot quietly drop a kind): two seeds of four steps each drew only five
of the seven kinds apiece, at twice the dbt runs.

Spark: a pytest process has one Spark warehouse at a time (its one local server), so
there the same deliveries go into one warehouse, built incrementally after each step;
after the last step its marts must equal what a full build of that warehouse then gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support import require_postgres, reset_spark_warehouse

from daybook.config import Warehouse

from .deliveries import KINDS, MARTS, Deliveries, apply, build_models, marts
from .scenario import heartbeat, insert_raw, query

# Deliveries(18)'s four steps draw every kind of delivery; Deliveries(9)'s three do too
# (another mix, and fewer steps: a dbt run on Spark costs seconds)
SEED, STEPS = 18, 4
SPARK_SEED, SPARK_STEPS = 9, 3


def test_incremental_builds_equal_a_full_build(backend, make_warehouse):
    if backend == "postgres":
        require_postgres()
    incremental, full = make_warehouse(backend), make_warehouse(backend)
    deliveries = Deliveries(SEED)
    first = deliveries.first()
    for warehouse in (incremental, full):
        insert_raw(warehouse, first)
    build_models(incremental, full=True)
    for number in range(STEPS):
        ops = deliveries.step()
        for warehouse in (incremental, full):
            apply(warehouse, ops)
        build_models(incremental, full=False)
        build_models(full, full=True)
        got, want = marts(incremental), marts(full)
        for table in MARTS:
            assert got[table] == want[table], (
                f"seed {SEED}, step {number + 1} ({[op for op, _ in ops]}): {table} differs"
            )
    assert deliveries.drawn == set(KINDS)
    final = marts(full)
    assert final["fct_activity_daily"] and final["fct_heartbeats_quarantined"]
    assert any("count_out_of_range" in row[-1] for row in final["fct_heartbeats_quarantined"])


def test_incremental_builds_on_spark_equal_a_full_build(spark_server):
    warehouse = reset_spark_warehouse(spark_server)
    deliveries = Deliveries(SPARK_SEED)
    insert_raw(warehouse, deliveries.first())
    build_models(warehouse, full=True)
    kinds = []
    for _ in range(SPARK_STEPS):
        ops = deliveries.step()
        apply(warehouse, ops)
        kinds.append([op for op, _ in ops])
        build_models(warehouse, full=False)
    got = marts(warehouse)
    build_models(warehouse, full=True)
    want = marts(warehouse)
    for table in MARTS:
        assert got[table] == want[table], f"after steps {kinds}: {table} differs"
    assert deliveries.drawn == set(KINDS)
    assert want["fct_activity_daily"] and want["fct_heartbeats_quarantined"]


def _read_state(warehouse: Warehouse) -> dict:
    (state,) = query(
        warehouse,
        "select boundary_utc, rows_before from daybook_meta.heartbeat_read_state "
        "where state_id = 1",
    )
    return state


def test_a_heartbeat_received_in_the_future_does_not_make_every_refresh_read_all(
    backend, make_warehouse
):
    """One kept heartbeat received days ahead of the clock used to put the read boundary
    (newest received minus the lookback) in the future: every later delivery was then
    "before the boundary" and every refresh read all of raw. The boundary is capped at
    the run's start; the marts still equal a full build's."""
    if backend == "postgres":
        require_postgres()
    incremental, full = make_warehouse(backend), make_warehouse(backend)
    wall_clock = datetime.now(UTC).replace(tzinfo=None)
    deliveries = Deliveries(3)
    deliveries.now = wall_clock - timedelta(days=3)  # ordinary deliveries: the recent past
    first = deliveries.first()
    future = heartbeat(
        "hb-future", "c0", "u0", "d0", wall_clock, wall_clock + timedelta(days=4), (1, 0, 0, 0, 0)
    )
    first["heartbeats"].append(future)
    for warehouse in (incremental, full):
        insert_raw(warehouse, first)
    build_models(incremental, full=True)
    for number in range(2):
        deliveries.now += timedelta(days=1)
        ops = [("insert", {"heartbeats": deliveries._new_heartbeats(6)})]
        for warehouse in (incremental, full):
            apply(warehouse, ops)
        started = datetime.now(UTC).replace(tzinfo=None)
        build_models(incremental, full=False)
        build_models(full, full=True)
        assert marts(incremental) == marts(full), f"step {number + 1}"
        state = _read_state(incremental)
        # a boundary was recorded (this run's check held: it read only from the boundary)
        # and it is not in the future
        assert state["boundary_utc"] is not None
        assert state["boundary_utc"] <= started
