"""One refresh cycle, with the dbt build replaced by a stand-in: what it counts and publishes.

The real build is exercised by ``test_refresh_while_serving``; here the cycle's
own logic (arrivals since the high-water mark, local days in each client's
zone, skip when nothing arrived, no publish after a failed build) is checked
against plain Python on both backends.
"""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click
import pytest

from daybook.config import Warehouse
from daybook.refresh import RefreshError, refresh_once
from daybook.refresh_cli import parse_duration
from daybook.refresh_state import load_state
from daybook.serving import SERVING_TABLES, current_snapshot
from daybook.warehouse import connection

ZONES = {
    "c-ny": "America/New_York",
    "c-kolkata": "Asia/Kolkata",
    "c-kiritimati": "Pacific/Kiritimati",
}


@dataclass
class Outcome:
    success: bool

    def summary(self) -> str:
        return "model fct_activity_daily failed" if not self.success else "ok"


def _execute(warehouse: Warehouse, statements: list[tuple[str, list]]) -> None:
    with connection(warehouse) as con:
        cursor = con.cursor()
        for sql, params in statements:
            if warehouse.backend == "postgres":
                sql = sql.replace("?", "%s")
            cursor.execute(sql, params)
        if warehouse.backend == "postgres":
            con.commit()


def make_raw(warehouse: Warehouse) -> None:
    statements: list[tuple[str, list]] = [
        ("create schema if not exists raw", []),
        ("create table raw.clients (client_id varchar, timezone varchar)", []),
        ("create table raw.users (user_id varchar)", []),
        ("create table raw.devices (device_id varchar)", []),
        (
            "create table raw.heartbeats (client_id varchar, generated_at_utc timestamp, "
            "received_at_utc timestamp)",
            [],
        ),
    ]
    statements += [("insert into raw.clients values (?, ?)", list(item)) for item in ZONES.items()]
    _execute(warehouse, statements)


def add_heartbeats(warehouse: Warehouse, rows: list[tuple[str, datetime, datetime]]) -> None:
    _execute(
        warehouse,
        [("insert into raw.heartbeats values (?, ?, ?)", list(row)) for row in rows],
    )


def random_heartbeats(rng: random.Random, count: int, received_after: datetime) -> list[tuple]:
    rows = []
    for index in range(count):
        generated = datetime(2026, 3, 8) + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        rows.append(
            (rng.choice(list(ZONES)), generated, received_after + timedelta(seconds=index + 1))
        )
    return rows


def expected_days(rows: list[tuple]) -> set:
    return {
        generated.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONES[client])).date()
        for client, generated, _ in rows
    }


def fake_build(warehouse: Warehouse, success: bool = True):
    def build(target: Warehouse) -> Outcome:
        if success and target.backend == "duckdb":
            with connection(target) as con:
                for name in SERVING_TABLES:
                    con.execute(f"create or replace table main.{name} as select 1 as client_id")
        return Outcome(success)

    return build


@pytest.fixture
def raw_warehouse(
    empty_warehouse: Warehouse, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Warehouse:
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    make_raw(empty_warehouse)
    return empty_warehouse


def test_cycle_counts_arrivals_and_local_days_since_the_last_cycle(
    raw_warehouse: Warehouse,
) -> None:
    rng = random.Random(3)
    start = datetime(2026, 3, 10, 8, 0)
    first = random_heartbeats(rng, 40, start)
    add_heartbeats(raw_warehouse, first)

    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.built and cycle.arrivals.heartbeats == 40
    days = expected_days(first)
    assert cycle.arrivals.local_days == len(days)
    assert (cycle.arrivals.first_day, cycle.arrivals.last_day) == (min(days), max(days))
    assert cycle.arrivals.high_water == max(row[2] for row in first).replace(tzinfo=UTC)
    assert "40 heartbeats in" in cycle.log_line()
    if raw_warehouse.backend == "duckdb":
        assert cycle.snapshot is not None and current_snapshot(raw_warehouse) is not None

    idle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse, success=False))
    assert not idle.built and idle.arrivals.heartbeats == 0, "nothing new: no build at all"
    assert "nothing new" in idle.log_line()

    second = random_heartbeats(rng, 7, start + timedelta(hours=1))
    add_heartbeats(raw_warehouse, second)
    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.arrivals.heartbeats == 7
    assert cycle.arrivals.local_days == len(expected_days(second))

    # a backfill: rows received before the last cycle's newest are built and said so
    backfill = random_heartbeats(rng, 5, start - timedelta(days=3))
    third = random_heartbeats(rng, 2, start + timedelta(hours=2))
    add_heartbeats(raw_warehouse, backfill + third)
    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.built and cycle.arrivals.heartbeats == 2
    assert cycle.earlier_rows == 5
    assert cycle.log_line().startswith(
        "refresh: 7 heartbeats in (5 received before the last cycle's newest: a backfill), "
        f"{len(expected_days(third))} local day"
    ), cycle.log_line()
    assert "touched by the 2 received since" in cycle.log_line()

    # a backfill alone: not "0 heartbeats in" (a delivery of late rows looked like nothing)
    add_heartbeats(raw_warehouse, random_heartbeats(rng, 3, start - timedelta(days=2)))
    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.built and (cycle.arrivals.heartbeats, cycle.earlier_rows) == (0, 3)
    assert cycle.log_line().startswith(
        "refresh: 3 heartbeats in, all received before the last cycle's newest (a backfill), "
    ), cycle.log_line()
    assert "changed" not in cycle.log_line(), "no entity row changed"

    # a client delivered again with another zone: no heartbeat in, yet built and said so
    _execute(
        raw_warehouse,
        [("update raw.clients set timezone = ? where client_id = ?", ["UTC", min(ZONES)])],
    )
    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.built and cycle.arrivals.heartbeats == 0
    assert cycle.changed_entities == ("clients",)
    assert "; raw.clients changed (new or delivered again)" in cycle.log_line()


def test_first_cycle_after_a_build_counts_only_what_the_marts_do_not_include(
    raw_warehouse: Warehouse,
) -> None:
    """A warehouse built before any refresh (``daybook build``, or dbt by hand): the first
    cycle counts the heartbeats received after the newest one the build kept."""
    rng = random.Random(5)
    start = datetime(2026, 3, 10, 8, 0)
    built = random_heartbeats(rng, 30, start)
    later = random_heartbeats(rng, 4, start + timedelta(hours=2))
    add_heartbeats(raw_warehouse, built + later)
    _execute(
        raw_warehouse,
        [
            ("create schema if not exists intermediate", []),
            (
                "create table intermediate.int_heartbeats_deduplicated as "
                "select * from raw.heartbeats where received_at_utc <= ?",
                [max(row[2] for row in built)],
            ),
        ],
    )
    cycle = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert cycle.built and cycle.arrivals.heartbeats == len(later)
    assert cycle.arrivals.local_days == len(expected_days(later))


def test_failed_build_keeps_the_served_data_and_the_mark(raw_warehouse: Warehouse) -> None:
    rng = random.Random(4)
    add_heartbeats(raw_warehouse, random_heartbeats(rng, 5, datetime(2026, 3, 10)))
    refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    served, state = current_snapshot(raw_warehouse), load_state(raw_warehouse)

    add_heartbeats(raw_warehouse, random_heartbeats(rng, 3, datetime(2026, 3, 11)))
    with pytest.raises(RefreshError, match="fct_activity_daily failed"):
        refresh_once(raw_warehouse, build=fake_build(raw_warehouse, success=False))
    assert current_snapshot(raw_warehouse) == served
    assert load_state(raw_warehouse) == state
    retry = refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    assert retry.arrivals.heartbeats == 3, "the failed cycle's arrivals are counted on retry"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300.0), ("30s", 30.0), ("1h", 3600.0), ("90", 90.0), ("1.5m", 90.0), ("250ms", 0.25)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1m", "0", "m5", "five minutes"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="not a duration"):
        parse_duration(text)


def test_refresh_command_refuses_a_bad_interval() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.cli", "refresh", "--every", "soon"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "'soon' is not a duration" in completed.stderr


def test_refresh_loop_logs_each_cycle_and_stops_cleanly_on_ctrl_c(
    raw_warehouse: Warehouse, tmp_path
) -> None:
    import os
    import signal
    import time

    add_heartbeats(raw_warehouse, random_heartbeats(random.Random(5), 4, datetime(2026, 3, 10)))
    refresh_once(raw_warehouse, build=fake_build(raw_warehouse))
    env = {**os.environ, "DAYBOOK_DATABASE_URL": raw_warehouse.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "daybook.cli", "refresh", "--every", "300ms"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    rest, errors = process.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert process.returncode == 0, errors
    assert all("refresh: nothing new (0 heartbeats in)" in line for line in lines), lines
    assert rest.strip().endswith("refresh: stopped"), rest
