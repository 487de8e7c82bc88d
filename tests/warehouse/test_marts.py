"""The dbt marts hold what the contract says, on DuckDB, PostgreSQL and Spark.

One hand-made scenario per backend (``scenario.py``) is loaded and built three
times (first build, incremental refresh after a second load, full refresh), and
each state of the marts is compared with the plain-Python reference over the raw
rows loaded so far. dbt runs are slow, so the builds are shared by the module. Spark
(the process's one local server, ``spark_server``) runs the same scenario: its
refreshes overwrite whole days, which only the partition test sees, and its data tests run
after the incremental build alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from reference import bucket_start, created_day, days_between, local_day
from support import (
    create_postgres_database,
    drop_postgres_database,
    require_postgres,
    reset_spark_warehouse,
)

from daybook.build import BuildResult, manifest_path, run_build, run_dbt
from daybook.config import Warehouse, parse_database_url

from .scenario import (
    batch1,
    batch2,
    dst_expectations,
    expected_marts,
    insert_raw,
    merge_batches,
    query,
    read_marts,
)

MODELS_ONLY = ["resource_type:test", "resource_type:unit_test"]


@dataclass
class BuiltScenario:
    """A warehouse taken through first build, incremental refresh and full refresh."""

    warehouse: Warehouse
    first_raw: dict
    all_raw: dict
    first_build: BuildResult
    first_marts: dict
    first_processed: dict
    incremental_processed: dict
    incremental_refreshed_partitions: set
    incremental_build: BuildResult
    incremental_marts: dict
    activity_dates: dict[str, date]
    full_refresh_build: BuildResult
    full_refresh_marts: dict
    docs_success: bool
    docs_catalog: Path


def _build_scenario(backend: str, folder: Path, request: pytest.FixtureRequest) -> BuiltScenario:
    if backend == "duckdb":
        warehouse = parse_database_url(f"duckdb://{folder / 'scenario.duckdb'}")
    elif backend == "spark":
        warehouse = reset_spark_warehouse(request.getfixturevalue("spark_server"))
    else:
        require_postgres()
        warehouse = create_postgres_database("daybook_marts")
    first = batch1()
    insert_raw(warehouse, first)
    # On Spark dbt's data tests run once, after the incremental build, the state they guard
    # most (each run of them costs half a minute there); a first build's pass on Spark is
    # test_spark_refresh's `daybook build`.
    first_build = run_build(
        warehouse, unit_tests=True, exclude=["resource_type:test"] if backend == "spark" else None
    )
    first_marts = read_marts(warehouse) if first_build.success else {}
    first_processed = _processed_at(warehouse) if first_build.success else {}

    second = batch2(first)
    insert_raw(warehouse, second)
    incremental_build = run_build(warehouse)
    incremental_marts = read_marts(warehouse) if incremental_build.success else {}
    incremental_processed = _processed_at(warehouse) if incremental_build.success else {}
    refreshed = (
        query(
            warehouse,
            "select distinct client_id, activity_date from fct_activity_daily "
            "where refreshed_at_utc = (select max(refreshed_at_utc) from fct_activity_daily)",
        )
        if incremental_build.success
        else []
    )
    activity_dates = (
        {
            row["heartbeat_id"]: row["activity_date"]
            for row in query(
                warehouse,
                "select heartbeat_id, activity_date from intermediate.int_heartbeats_validated "
                "where heartbeat_id like 'dst-%'",
            )
        }
        if incremental_build.success
        else {}
    )

    full_refresh_build = run_build(warehouse, full_refresh=True, exclude=MODELS_ONLY)
    full_refresh_marts = read_marts(warehouse) if full_refresh_build.success else {}
    docs = run_dbt(warehouse, ["docs", "generate", "--quiet"])
    return BuiltScenario(
        warehouse=warehouse,
        first_raw=first,
        all_raw=merge_batches(first, second),
        first_build=first_build,
        first_marts=first_marts,
        first_processed=first_processed,
        incremental_processed=incremental_processed,
        incremental_refreshed_partitions={
            (row["client_id"], row["activity_date"]) for row in refreshed
        },
        incremental_build=incremental_build,
        incremental_marts=incremental_marts,
        activity_dates=activity_dates,
        full_refresh_build=full_refresh_build,
        full_refresh_marts=full_refresh_marts,
        docs_success=bool(docs.success),
        docs_catalog=manifest_path(warehouse).with_name("catalog.json"),
    )


def _processed_at(warehouse: Warehouse) -> dict:
    rows = query(
        warehouse,
        "select heartbeat_key, processed_at_utc from intermediate.int_heartbeats_validated",
    )
    return {row["heartbeat_key"]: row["processed_at_utc"] for row in rows}


@pytest.fixture(params=("duckdb", "postgres", "spark"))
def backend(request: pytest.FixtureRequest) -> str:
    """This module's backends: the two of every test, and Spark."""
    return request.param


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """Scenario warehouses built lazily per backend, dropped when the module ends."""
    cache: dict[str, BuiltScenario] = {}

    class Lazy(dict):
        def __missing__(self, backend: str) -> BuiltScenario:
            built = _build_scenario(backend, tmp_path_factory.mktemp(f"marts-{backend}"), request)
            cache[backend] = self[backend] = built
            return built

    yield Lazy()
    for built in cache.values():
        if built.warehouse.backend == "postgres":
            drop_postgres_database(built.warehouse)


@pytest.fixture
def scenario(backend: str, scenarios) -> BuiltScenario:
    return scenarios[backend]


def _assert_same(actual: dict, expected: dict, what: str) -> None:
    missing = sorted(set(expected) - set(actual), key=str)[:5]
    extra = sorted(set(actual) - set(expected), key=str)[:5]
    assert not missing and not extra, f"{what}: missing keys {missing}, unexpected keys {extra}"
    wrong = [(key, actual[key], expected[key]) for key in expected if actual[key] != expected[key]]
    assert not wrong, f"{what}: {len(wrong)} rows differ, e.g. {wrong[:3]}"


def test_builds_succeed_with_every_dbt_test_passing(scenario: BuiltScenario) -> None:
    for result in (scenario.first_build, scenario.incremental_build, scenario.full_refresh_build):
        assert result.success, result.summary()
    # unit tests run on request (CI, development), not in a production build
    first_kinds = {"model", "unit_test"} | (
        {"test"} if scenario.warehouse.backend != "spark" else set()
    )
    assert first_kinds <= {node.type for node in scenario.first_build.nodes}
    kinds = {node.type for node in scenario.incremental_build.nodes}
    assert {"model", "test"} <= kinds and "unit_test" not in kinds


@pytest.mark.parametrize("mart", ["activity", "users", "devices", "quarantine"])
def test_first_build_matches_reference(scenario: BuiltScenario, mart: str) -> None:
    expected = expected_marts(scenario.first_raw)[mart]
    assert expected, "the scenario must exercise this mart"
    _assert_same(dict(scenario.first_marts[mart]), dict(expected), mart)


@pytest.mark.parametrize("mart", ["activity", "users", "devices", "quarantine"])
def test_incremental_refresh_matches_reference_over_all_rows(
    scenario: BuiltScenario, mart: str
) -> None:
    expected = expected_marts(scenario.all_raw)[mart]
    _assert_same(dict(scenario.incremental_marts[mart]), dict(expected), mart)


@pytest.mark.parametrize("mart", ["activity", "users", "devices", "quarantine"])
def test_full_refresh_gives_the_same_marts_as_incremental(
    scenario: BuiltScenario, mart: str
) -> None:
    _assert_same(
        dict(scenario.full_refresh_marts[mart]), dict(scenario.incremental_marts[mart]), mart
    )


def test_late_heartbeat_lands_on_its_own_day(scenario: BuiltScenario) -> None:
    late = next(hb for hb in scenario.all_raw["heartbeats"] if hb["heartbeat_id"] == "hb-late")
    expected = expected_marts(scenario.all_raw)["activity"]
    before = expected_marts(scenario.first_raw)["activity"]
    cells = [key for key in expected if key[2] == late["user_id"] and key[3] == late["device_id"]]
    late_cell = next(key for key in cells if expected[key] != before.get(key))
    assert late_cell[1] < late["received_at_utc"].date()  # an old day, not the receipt day
    assert scenario.incremental_marts["activity"][late_cell] == expected[late_cell]
    assert scenario.first_marts["activity"].get(late_cell) == before.get(late_cell)


def test_duplicates_count_once(scenario: BuiltScenario) -> None:
    ids = [hb["heartbeat_id"] for hb in scenario.all_raw["heartbeats"] if hb["heartbeat_id"]]
    assert len(ids) > len(set(ids)), "the scenario must contain duplicate deliveries"
    expected = expected_marts(scenario.all_raw)["activity"]
    valid = sum(cell["heartbeat_count"] for cell in expected.values())
    built = sum(cell["heartbeat_count"] for cell in scenario.incremental_marts["activity"].values())
    assert built == valid
    total = sum(cell["total_activity_count"] for cell in expected.values())
    assert total == sum(
        cell["total_activity_count"] for cell in scenario.incremental_marts["activity"].values()
    )


def test_invalid_heartbeats_are_quarantined_with_their_reasons(scenario: BuiltScenario) -> None:
    quarantine = scenario.incremental_marts["quarantine"]
    reasons = {reason for (_id, _at, text) in quarantine for reason in text.split(",")}
    assert reasons == {
        "missing_id",
        "unknown_client",
        "unknown_user",
        "user_client_mismatch",
        "unknown_device",
        "device_client_mismatch",
        "invalid_count",
        "total_mismatch",
        "missing_generated_at",
    }
    assert sum(quarantine.values()) == sum(expected_marts(scenario.all_raw)["quarantine"].values())


def test_heartbeat_of_a_late_arriving_user_is_validated_on_refresh(
    scenario: BuiltScenario,
) -> None:
    def quarantined_ids(marts: dict) -> set:
        return {heartbeat_id for heartbeat_id, _at, _reasons in marts["quarantine"]}

    assert "hb-early-for-late-user" in quarantined_ids(scenario.first_marts)
    assert "hb-early-for-late-user" not in quarantined_ids(scenario.incremental_marts)


def test_dst_midnight_one_second_either_side_lands_on_the_local_day(
    scenario: BuiltScenario,
) -> None:
    expected = {hb_id: day for hb_id, _client, day in dst_expectations()}
    assert scenario.activity_dates == expected


def test_dense_tables_have_every_day_zero_filled(scenario: BuiltScenario) -> None:
    users = scenario.incremental_marts["users"]
    idle = sorted(day for client, user, day in users if user == "u-ny-idle")
    assert idle and all(sum(users[("c-ny", "u-ny-idle", day)].values()) == 0 for day in idle)
    assert len(idle) == (idle[-1] - idle[0]).days + 1
    last_day = max(day for _client, day, _user, _device in scenario.incremental_marts["activity"])
    assert idle[-1] == last_day


@pytest.mark.parametrize("entity", ["user", "device"])
def test_dimension_spans_match_reference(scenario: BuiltScenario, entity: str) -> None:
    """dim_users / dim_devices after the refresh: each entity of a known client with its
    local creation day, first and last day of valid activity (from the reference's
    activity cells) and active_from_date (the earlier of the two), nulls where none."""
    raw = scenario.all_raw
    timezones = {row["client_id"]: row["timezone"] for row in raw["clients"]}
    position = 2 if entity == "user" else 3
    active: dict[tuple[str, str], list[date]] = {}
    for key in expected_marts(raw)["activity"]:
        active.setdefault((key[0], key[position]), []).append(key[1])
    expected = {}
    for row in raw[f"{entity}s"]:
        client = row["client_id"]
        if client not in timezones:
            continue
        days = active.get((client, row[f"{entity}_id"]), [])
        created = created_day(row["created_at"], timezones[client])
        first = min(days, default=None)
        starts = [day for day in (created, first) if day is not None]
        expected[row[f"{entity}_id"]] = (
            client,
            created,
            first,
            max(days, default=None),
            min(starts, default=None),
        )
    assert expected, "the scenario must hold entities of known clients"
    if entity == "user":  # u-ny-idle: no valid activity, so null first and last days
        assert any(value[2] is None for value in expected.values())
    rows = query(
        scenario.warehouse,
        f"select {entity}_id, client_id, created_date, first_active_date, last_active_date, "
        f"active_from_date from dim_{entity}s",
    )
    actual = {
        row[f"{entity}_id"]: (
            row["client_id"],
            row["created_date"],
            row["first_active_date"],
            row["last_active_date"],
            row["active_from_date"],
        )
        for row in rows
    }
    _assert_same(actual, expected, f"dim_{entity}s")


def test_dim_dates_bucket_starts_match_reference(scenario: BuiltScenario) -> None:
    """dim_dates' calendar columns on every day of four years (leap year, year and quarter
    ends) equal the independent reference the API's buckets are checked against."""
    days = days_between(date(2023, 12, 25), date(2027, 1, 10))
    rows = query(
        scenario.warehouse,
        "select date_day, day_of_week, week_start_date, month_start_date, quarter_start_date, "
        "year_start_date, is_weekend from dim_dates "
        f"where date_day between cast('{days[0]}' as date) and cast('{days[-1]}' as date) "
        "order by date_day",
    )
    actual = {row.pop("date_day"): row for row in rows}
    expected = {
        day: {
            "day_of_week": day.isoweekday(),
            "week_start_date": bucket_start(day, "weekly"),
            "month_start_date": bucket_start(day, "monthly"),
            "quarter_start_date": bucket_start(day, "quarterly"),
            "year_start_date": date(day.year, 1, 1),
            "is_weekend": day.isoweekday() >= 6,
        }
        for day in days
    }
    _assert_same(actual, expected, "dim_dates")


def test_docs_generate_works(scenario: BuiltScenario) -> None:
    assert scenario.docs_success
    assert scenario.docs_catalog.exists()


def test_refresh_processes_only_new_heartbeats_and_their_partitions(
    scenario: BuiltScenario,
) -> None:
    first, after = scenario.first_processed, scenario.incremental_processed
    reprocessed = {key for key in first if after[key] != first[key]}
    # only the heartbeat whose missing user arrived is validated again
    assert reprocessed == {"hb-early-for-late-user"}
    new_ids = {hb["heartbeat_id"] for hb in scenario.all_raw["heartbeats"]} - {
        hb["heartbeat_id"] for hb in scenario.first_raw["heartbeats"]
    }
    assert new_ids <= set(after) - set(first)

    timezones = {row["client_id"]: row["timezone"] for row in scenario.all_raw["clients"]}
    second_batch = [
        hb
        for hb in scenario.all_raw["heartbeats"]
        if hb["heartbeat_id"] in new_ids | reprocessed and hb["client_id"] in timezones
    ]
    touched = {
        (hb["client_id"], local_day(hb["generated_at_utc"], timezones[hb["client_id"]]))
        for hb in second_batch
    }
    assert scenario.incremental_refreshed_partitions
    if scenario.warehouse.backend == "spark":
        # Spark overwrites whole months (the fact's partitions), every client's rows of them
        refreshed_months = {
            day.replace(day=1) for _client, day in scenario.incremental_refreshed_partitions
        }
        assert refreshed_months <= {day.replace(day=1) for _client, day in touched}
    else:
        assert scenario.incremental_refreshed_partitions <= touched
