"""A metric whose types a warehouse refuses is refused at load, and only such a metric.

The cases below are metrics a data team could write: sums over text, a filter comparing
text with a number, a quoted number compared with a count, a day compared with a quoted
day, and so on. What is true of each is not written here: it is what the warehouses do.
Each case is compiled without the type check and run on the session's built sample
warehouse on DuckDB and PostgreSQL (and on Spark, over the same marts); the type check
(``check_types``, with the column types of the real dbt build's contracts) must refuse a
case exactly when it fails on DuckDB or PostgreSQL, and a case it accepts must run on
Spark too.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from daybook.semantic import SemanticError, load_catalog
from daybook.semantic.dbt_metrics import read_semantic_manifest
from daybook.semantic.dbt_parse import semantic_manifest_for
from daybook.semantic.manifest import dbt_manifest
from daybook.semantic.metric_sql import ManifestView, compile_metric
from daybook.semantic.metric_sql.types import check_types
from daybook.warehouse import connection
from semantic.test_semantic_definitions import write_semantic

CASE_MODEL = """
semantic_models:
  - name: type_cases
    model: ref('fct_activity_daily')
    primary_entity: case_row
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: client, type: foreign, expr: client_id}
      - {name: user, type: foreign, expr: user_id}
      - {name: device, type: foreign, expr: device_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
      - {name: user_day, type: time, expr: user_id, type_params: {time_granularity: day}}
      - {name: case_day, type: categorical, expr: activity_date}
      - {name: case_heartbeats, type: categorical, expr: heartbeat_count}
      - {name: case_user, type: categorical, expr: user_id}
      - {name: case_refreshed, type: categorical, expr: refreshed_at_utc}
    measures:
      - {name: tc_heartbeats, agg: sum, expr: heartbeat_count}
      - {name: tc_sum_text, agg: sum, expr: user_id}
      - {name: tc_average_text, agg: average, expr: device_id}
      - {name: tc_max_text, agg: max, expr: user_id}
      - {name: tc_min_day, agg: min, expr: activity_date}
      - {name: tc_max_count, agg: max, expr: heartbeat_count}
      - {name: tc_sum_boolean_text, agg: sum_boolean, expr: user_id}
      - {name: tc_sum_boolean_number, agg: sum_boolean, expr: heartbeat_count}
      - {name: tc_sum_boolean_ok, agg: sum_boolean, expr: heartbeat_count > 1}
      - {name: tc_count_text, agg: count, expr: user_id}
      - {name: tc_distinct_days, agg: count_distinct, expr: activity_date}
      - {name: tc_sum_plus_text, agg: sum, expr: heartbeat_count + user_id}
      - {name: tc_sum_case_mixed, agg: sum,
         expr: "case when heartbeat_count > 1 then 'many' else 0 end"}
      - {name: tc_sum_case_ok, agg: sum,
         expr: "case when user_id = 'x' then 1 else heartbeat_count end"}
      - {name: tc_sum_when_text, agg: sum, expr: "case when user_id then 1 else 0 end"}
      - {name: tc_sum_compare_text, agg: sum,
         expr: "case when user_id = 1 then 1 else 0 end"}
      - {name: tc_by_user_day, agg: sum, expr: heartbeat_count, agg_time_dimension: user_day}
      - {name: tc_sum_coalesce, agg: sum, expr: "coalesce(heartbeat_count, 0)"}
      - {name: tc_max_case_null, agg: max,
         expr: "case when user_id = 'x' then null else heartbeat_count end"}
      - {name: tc_distinct_case_text, agg: count_distinct,
         expr: "case when heartbeat_count > 1 then user_id end"}
      - {name: tc_sum_negative, agg: sum, expr: "-heartbeat_count * 2 - 1"}
      - {name: tc_average_compare_texts, agg: average,
         expr: "case when user_id = device_id then 1 else 0 end"}
      - {name: tc_sum_coalesce_mixed, agg: sum, expr: "coalesce(user_id, 0)"}
      - {name: tc_sum_timestamp, agg: sum, expr: refreshed_at_utc}
"""
MEASURE_CASES = (
    "tc_sum_text", "tc_average_text", "tc_max_text", "tc_min_day", "tc_max_count",
    "tc_sum_boolean_text", "tc_sum_boolean_number", "tc_sum_boolean_ok", "tc_count_text",
    "tc_distinct_days", "tc_sum_plus_text", "tc_sum_case_mixed", "tc_sum_case_ok",
    "tc_sum_when_text", "tc_sum_compare_text", "tc_by_user_day", "tc_sum_coalesce",
    "tc_max_case_null", "tc_distinct_case_text", "tc_sum_negative", "tc_average_compare_texts",
    "tc_sum_coalesce_mixed", "tc_sum_timestamp",
)  # fmt: skip
PLATFORM = "{{ Dimension('device__platform') }}"
HEARTBEATS = "{{ Dimension('case_row__case_heartbeats') }}"
DAY = "{{ Dimension('case_row__case_day') }}"
USER = "{{ Dimension('case_row__case_user') }}"
REFRESHED = "{{ Dimension('case_row__case_refreshed') }}"
FILTER_CASES = (
    f"{PLATFORM} = 1",
    f"{PLATFORM} = 'windows'",
    f"{PLATFORM} in (1, 2)",
    f"{PLATFORM} between 'a' and 'z'",
    f"{HEARTBEATS} = '5'",
    f"{HEARTBEATS} = 'five'",
    f"{HEARTBEATS} between 'a' and 'z'",
    f"{HEARTBEATS} > 3",
    f"{DAY} >= '2025-01-01'",
    f"{DAY} = 20250101",
    f"{DAY} >= '2025-13-45'",
    f"{USER} = 5",
    f"{USER} is null",
    f"not {USER}",
    f"{USER} = 'x' or {HEARTBEATS} > 1",
    f"{DAY} between '2025-01-01' and '2026-12-31'",
    f"{HEARTBEATS} in ('1', '2')",
    f"{HEARTBEATS} = -1",
    f"{USER} in ('a', 'b')",
    f"{USER} is not null",
    f"{PLATFORM} = 'windows' and {HEARTBEATS} >= 1",
    f"{DAY} >= '2026-1-1'",
    f"{DAY} >= '20260101'",
    f"{HEARTBEATS} = ' 5 '",
    f"{HEARTBEATS} = '5.0'",
    f"{HEARTBEATS} = '1e3'",
    f"{REFRESHED} >= '2026-01-01'",
    f"{REFRESHED} = 5",
    f"{DAY} > {REFRESHED}",
    f"{USER} > {REFRESHED}",
)


def case_yaml() -> str:
    """The case model and one metric per case: each measure alone, each filter on the
    heartbeats, one ratio whose numerator's filter is a case, one cumulative over a case."""
    metrics = [
        {"name": name, "label": name, "type": "simple", "type_params": {"measure": name}}
        for name in MEASURE_CASES
    ]
    metrics += [
        {
            "name": f"tc_filter_{index}",
            "label": f"filter {index}",
            "type": "simple",
            "type_params": {"measure": "tc_heartbeats"},
            "filter": template,
        }
        for index, template in enumerate(FILTER_CASES)
    ]
    metrics += [
        {"name": "tc_base", "label": "base", "type": "simple",
         "type_params": {"measure": "tc_heartbeats"}},
        {"name": "tc_ratio_filtered", "label": "ratio", "type": "ratio", "type_params": {
            "numerator": {"name": "tc_base", "filter": f"{PLATFORM} = 1"},
            "denominator": "tc_base"}},
        {"name": "tc_cumulative_text", "label": "cumulative", "type": "cumulative",
         "type_params": {"measure": "tc_sum_text",
                         "cumulative_type_params": {"window": "7 days"}}},
    ]  # fmt: skip
    import yaml

    return CASE_MODEL + "\n" + yaml.safe_dump({"metrics": metrics}, sort_keys=False)


CASES = (
    *MEASURE_CASES,
    *(f"tc_filter_{index}" for index in range(len(FILTER_CASES))),
    "tc_base",
    "tc_ratio_filtered",
    "tc_cumulative_text",
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(semantic folder, dbt's semantic manifest of the shipped folder plus the cases)."""
    folder = write_semantic(
        tmp_path_factory.mktemp("type_cases") / "semantic", {"metrics/cases.yml": case_yaml()}
    )
    return folder, semantic_manifest_for(folder)


@pytest.fixture(scope="module")
def view(parsed: tuple[Path, Path]) -> ManifestView:
    return ManifestView(read_semantic_manifest(parsed[1]), tenant_entity="client")


@pytest.fixture(scope="module")
def refusals(parsed: tuple[Path, Path], view: ManifestView) -> dict[str, str | None]:
    """Each case's refusal by the type check (``None``: accepted), with the column types
    of the real dbt project's contracts (the ``manifest.json`` beside the semantic one)."""
    types = dbt_manifest(parsed[1].with_name("manifest.json")).column_types()
    assert types["fct_activity_daily"]["user_id"], "the contracts document no column types"
    outcome: dict[str, str | None] = {}
    for name in CASES:
        try:
            check_types(view, name, types)
        except SemanticError as error:
            outcome[name] = str(error)
        else:
            outcome[name] = None
    return outcome


def run_each(built, view: ManifestView, dialect: str, names) -> dict[str, str | None]:
    """Each metric compiled (no type check) and run for the busiest client over the 60 days
    up to its last active day on ``built``: the warehouse's error, or ``None``."""
    errors: dict[str, str | None] = {}
    with connection(built.warehouse, read_only=True) as con:
        cursor = con.cursor()
        cursor.execute(
            "select client_id, max(activity_date) from fct_activity_daily "
            "group by client_id order by count(*) desc, client_id limit 1"
        )
        client, last = cursor.fetchone()
        for name in names:
            query = compile_metric(view, name, "client", "daily", dialect)
            params = query.parameters(
                tenant_id=client,
                entity_id=None,
                start_date=last - timedelta(days=60),
                end_date=last,
            )
            cursor = con.cursor()
            try:
                cursor.execute(query.sql, params)
                cursor.fetchall()
            except Exception as error:  # the warehouse's own refusal, whichever driver
                errors[name] = f"{type(error).__name__}: {error}"
                if dialect == "postgres":  # the failed statement ended its transaction
                    con.rollback()
            else:
                errors[name] = None
    return errors


def test_a_metric_is_refused_for_its_types_exactly_when_a_warehouse_refuses_it(
    built_warehouses, view: ManifestView, refusals: dict[str, str | None]
) -> None:
    failures = {
        backend: run_each(built_warehouses[backend], view, backend, CASES)
        for backend in ("duckdb", "postgres")
    }
    wrong = []
    for name in CASES:
        failed = {backend: failures[backend][name] for backend in failures}
        if (refusals[name] is not None) != any(failed.values()):
            wrong.append((name, refusals[name], failed))
    assert not wrong, wrong
    refused = [name for name in CASES if refusals[name]]
    assert len(refused) >= 20 and len(CASES) - len(refused) >= 20, refusals


@pytest.mark.parametrize("backend", ["spark"])
def test_what_the_type_check_accepts_runs_on_spark(
    backend: str,
    built_warehouses,
    spark_warehouse,
    view: ManifestView,
    refusals: dict[str, str | None],
) -> None:
    from spark_marts import copy_marts_to_spark

    copy_marts_to_spark(built_warehouses["duckdb"].warehouse, spark_warehouse)

    class OnSpark:
        warehouse = spark_warehouse

    accepted = [name for name in CASES if refusals[name] is None]
    assert len(accepted) >= 12, refusals
    failed = {
        name: error for name, error in run_each(OnSpark, view, backend, accepted).items() if error
    }
    assert not failed, failed


def test_the_refusal_names_the_file_the_metric_and_what_does_not_fit(tmp_path: Path) -> None:
    bad = """
    metrics:
      - name: platform_as_number
        label: Platform as a number
        type: simple
        type_params: {measure: heartbeats}
        filter: "{{ Dimension('device__platform') }} = 1"
    """
    folder = write_semantic(tmp_path / "semantic", {"metrics/bad.yml": textwrap.dedent(bad)})
    with pytest.raises(SemanticError) as error:
        load_catalog(folder)
    message = str(error.value)
    assert message.startswith(f"{folder / 'metrics' / 'bad.yml'}: ")
    assert "platform_as_number" in message
    assert "compares platform (text) with 1 (a number)" in message
    assert "select" not in message.lower()
