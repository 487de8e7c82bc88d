"""A refresh leaves the warehouse's views be when the project is the one that built them.

dbt re-creates every view on every run, though a view's SQL changes only with the
project. After a build, a refresh runs the tables and incremental models alone; a
project other than the recorded one (an edit, another dbt) runs every model again; a
view dropped by hand is re-created and the cycle still succeeds. Which relations are
views is asked of the warehouse itself; the marts always equal the reference's.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from warehouse.scenario import batch1, expected_marts, heartbeat, insert_raw, query, read_marts

from daybook.build.results import BuildResult
from daybook.config import Warehouse
from daybook.pipeline import build_and_publish
from daybook.refresh import incremental_build, refresh_once
from daybook.warehouse import connection

pytestmark = pytest.mark.build  # builds and refreshes warehouses of its own


def _view_names(warehouse: Warehouse) -> dict[str, str]:
    """{view name: its schema}, as the warehouse's catalogue lists them."""
    rows = query(
        warehouse,
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'VIEW' "
        "and table_schema not in ('information_schema', 'pg_catalog')",
    )
    return {row["table_name"]: row["table_schema"] for row in rows}


def _recorded_refresh(warehouse: Warehouse, raw: dict, number: int) -> BuildResult:
    """Deliver one new heartbeat, run one refresh cycle; the cycle's dbt result."""
    newest = max(row["received_at_utc"] for row in raw["heartbeats"])
    new = heartbeat(
        f"hb-refresh-{number}",
        "c-ny",
        "u-ny-1",
        "d-ny-2",
        newest + timedelta(minutes=1),
        newest + timedelta(minutes=2),
        (number, 1, 0, 0, 0),
    )
    insert_raw(warehouse, {"heartbeats": [new]})
    raw["heartbeats"].append(new)
    results: list[BuildResult] = []

    def build(target: Warehouse) -> BuildResult:
        results.append(incremental_build(target))
        return results[-1]

    cycle = refresh_once(warehouse, build=build)
    assert cycle.built and len(results) == 1
    assert read_marts(warehouse) == expected_marts(raw)
    return results[0]


def _models_run(result: BuildResult) -> set[str]:
    return {node.name for node in result.nodes if node.type == "model"}


def test_a_refresh_re_creates_views_only_when_the_project_changed(backend, make_warehouse):
    warehouse = make_warehouse(backend)
    raw = batch1()
    insert_raw(warehouse, raw)
    built = build_and_publish(warehouse)
    assert built.success
    views = _view_names(warehouse)
    built_models = _models_run(built.build)
    assert views and set(views) < built_models  # the project has views and tables

    # the project that built them: the views are left as they are
    left_alone = _models_run(_recorded_refresh(warehouse, raw, 1))
    assert left_alone == built_models - set(views)

    # another project than the one recorded (as after an edit): every model runs
    record = warehouse.state_dir / "views.json"
    record.write_text(json.dumps({"fingerprint": "a project edited since"}), encoding="utf-8")
    assert _models_run(_recorded_refresh(warehouse, raw, 2)) == built_models
    assert _models_run(_recorded_refresh(warehouse, raw, 3)) == built_models - set(views)

    # a view dropped by hand: the cycle runs every model, so the view is back
    dropped = "stg_raw__heartbeats"
    with connection(warehouse) as con:
        con.cursor().execute(f"drop view {views[dropped]}.{dropped}")
        con.commit()
    assert _models_run(_recorded_refresh(warehouse, raw, 4)) == built_models
    assert _view_names(warehouse) == views
