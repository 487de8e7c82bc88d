"""Build, then publish: what ``daybook.pipeline.build_and_publish`` publishes, and when.

The build is a stand-in (tables written by hand, or a failure), so the checks cost no
dbt run; the real build and publish run in the refresh, demo and served-API tests.
Checked on both backends: DuckDB publishes a new snapshot the pointer names,
PostgreSQL serves its tables in place and publishes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from daybook.build import ensure_raw_tables
from daybook.config import Warehouse
from daybook.pipeline import build_and_publish
from daybook.publishers import publisher_for
from daybook.serving import SERVING_TABLES, current_snapshot
from daybook.warehouse import connection


@dataclass
class StandIn:
    success: bool

    def summary(self) -> str:
        return "ok" if self.success else "model fct_activity_daily failed"


def stand_in_build(success: bool, calls: list[str]):
    def build(warehouse: Warehouse) -> StandIn:
        calls.append("build")
        if success:
            with connection(warehouse) as con:
                cursor = con.cursor()
                for name in SERVING_TABLES:
                    cursor.execute(f"drop table if exists {name}")
                    cursor.execute(f"create table {name} as select 1 as client_id")
                con.commit()
        return StandIn(success)

    return build


@pytest.fixture
def warehouse(backend: str, make_warehouse) -> Warehouse:
    warehouse = make_warehouse(backend)
    ensure_raw_tables(warehouse)
    return warehouse


def test_a_successful_build_is_published_to_whatever_serves(warehouse: Warehouse) -> None:
    calls: list[str] = []
    seen: list[object] = []
    outcome = build_and_publish(
        warehouse, build=stand_in_build(True, calls), on_built=lambda result: seen.append(result)
    )
    assert outcome.success and calls == ["build"] and seen == [outcome.build]
    assert publisher_for(warehouse).serves(warehouse)
    if warehouse.backend == "duckdb":
        snapshot = current_snapshot(warehouse)
        assert snapshot is not None and outcome.publication is not None
        assert outcome.publication.snapshot_id == snapshot.id
        assert outcome.publication.name == snapshot.path.name
        assert publisher_for(warehouse).describe(warehouse) == f"DuckDB snapshot {snapshot.id}"
        assert outcome.publish_seconds is not None and outcome.publish_seconds > 0
    else:
        assert outcome.publication is None and outcome.publish_seconds is None
        assert publisher_for(warehouse).describe(warehouse) == "PostgreSQL tables"


def test_a_failed_build_publishes_nothing(warehouse: Warehouse) -> None:
    build_and_publish(warehouse, build=stand_in_build(True, []))
    before = current_snapshot(warehouse) if warehouse.backend == "duckdb" else None
    outcome = build_and_publish(warehouse, build=stand_in_build(False, []))
    assert not outcome.success and outcome.publication is None
    if warehouse.backend == "duckdb":
        assert current_snapshot(warehouse) == before


def test_the_caller_can_refuse_to_publish_a_build(warehouse: Warehouse) -> None:
    """``on_built`` sees the result first; raising there (a command that prints the
    summary and exits) publishes nothing."""

    def refuse(result: object) -> None:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        build_and_publish(warehouse, build=stand_in_build(True, []), on_built=refuse)
    if warehouse.backend == "duckdb":
        assert current_snapshot(warehouse) is None
        assert not publisher_for(warehouse).serves(warehouse)


def test_publish_without_building_in_a_child_process(warehouse: Warehouse) -> None:
    """What ``daybook serve`` runs before it forks workers: publish what was built."""
    stand_in_build(True, [])(warehouse)  # built, never published
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.pipeline", "ensure", warehouse.url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert publisher_for(warehouse).serves(warehouse)
    assert completed.stdout.strip().splitlines()[-1] == publisher_for(warehouse).describe(warehouse)
    if warehouse.backend == "duckdb":
        assert current_snapshot(warehouse) is not None


def test_publish_refuses_other_arguments() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.pipeline", "build"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0 and "usage" in completed.stderr
