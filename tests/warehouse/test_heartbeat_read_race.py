"""A load committing an old heartbeat while an incremental run is between its read
check and its record never loses that heartbeat (PostgreSQL).

``int_heartbeats_deduplicated`` checks, when its SQL is compiled, that the raw rows
received before a recorded checkpoint (the newest heartbeat, or that minus the
lookback) are as many as recorded (then it reads only from there), and its pre-hook
records the next checkpoints with their counts. A row received before the checkpoint
read from and committed between the two used to be counted by the record but never
read. The test makes that interleaving happen deterministically:
it holds a SHARE lock on the read-state table (the compile-time check's plain read
passes, the pre-hook's write waits), commits the old row while the run waits, then
releases the lock. Only PostgreSQL can interleave this: a DuckDB file has one writing
process, so no load can commit while a build runs.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import psycopg
import pytest

from daybook.build import run_dbt

from .deliveries import Deliveries, build_models, marts
from .scenario import heartbeat, insert_raw, query

WAIT_SECONDS = 120.0
# daybook_meta.heartbeat_read_state's rows (dbt_project/macros/heartbeat_reads.sql)
LOOKBACK_CHECKPOINT, TIGHT_CHECKPOINT = 1, 3


def _wait_for_blocked_writer(con: psycopg.Connection, deadline: float) -> None:
    """Until another session waits for a lock on the read-state table."""
    while True:
        (waiting,) = con.execute(
            "select count(*) from pg_locks where not granted "
            "and relation = 'daybook_meta.heartbeat_read_state'::regclass"
        ).fetchone()
        if waiting:
            return
        assert time.monotonic() < deadline, "the run never reached its pre-hook"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("checkpoint", "before"),
    [
        # before the lookback checkpoint: the next run reads all of raw
        (LOOKBACK_CHECKPOINT, timedelta(days=1)),
        # between the two checkpoints: the run may have read from the tight one; the next
        # run reads from the lookback one
        (TIGHT_CHECKPOINT, timedelta(hours=1)),
    ],
    ids=["before-lookback", "between-checkpoints"],
)
def test_an_old_row_committed_between_check_and_record_is_read(make_warehouse, checkpoint, before):
    warehouse = make_warehouse("postgres")
    twin = make_warehouse("postgres")
    deliveries = Deliveries(5)
    first = deliveries.first()
    for target in (warehouse, twin):
        insert_raw(target, first)
    build_models(warehouse, full=True)
    ((boundary,),) = [
        tuple(row.values())
        for row in query(
            warehouse,
            "select boundary_utc from daybook_meta.heartbeat_read_state "
            f"where state_id = {checkpoint}",
        )
    ]
    late = {
        "heartbeats": [
            heartbeat(
                "hb-race",
                "c0",
                "u0",
                "d0",
                boundary - before,
                boundary - before,
                (1, 2, 3, 4, 5),
            )
        ]
    }

    outcome: dict = {}
    with (
        psycopg.connect(warehouse.pg_conninfo) as locker,
        psycopg.connect(warehouse.pg_conninfo, autocommit=True) as watcher,
    ):
        locker.execute("lock table daybook_meta.heartbeat_read_state in share mode")
        run = threading.Thread(
            target=lambda: outcome.update(
                result=run_dbt(
                    warehouse, ["run", "--quiet", "--select", "int_heartbeats_deduplicated"]
                )
            )
        )
        run.start()
        try:
            _wait_for_blocked_writer(watcher, time.monotonic() + WAIT_SECONDS)
            insert_raw(warehouse, late)  # committed after the check, before the record
        finally:
            locker.commit()
            run.join(WAIT_SECONDS)
    assert not run.is_alive()
    assert outcome["result"].success

    # whatever that run read, the next incremental run must bring the row in
    build_models(warehouse, full=False)
    insert_raw(twin, late)
    build_models(twin, full=True)
    kept = query(
        warehouse,
        "select count(*) as n from intermediate.int_heartbeats_deduplicated "
        "where heartbeat_id = 'hb-race'",
    )
    assert kept == [{"n": 1}]
    assert marts(warehouse) == marts(twin)
