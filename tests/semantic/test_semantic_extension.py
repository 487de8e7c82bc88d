"""A data team adds metrics as YAML alone: they load, list and compute correctly, no Python change.

The new file, in dbt's spec, adds a semantic model with a measure per aggregation
(sum over an expression, count of rows, count_distinct, min, max) and a simple metric
on each; ``dbt parse`` reads it (``daybook.semantic.dbt_parse``) and each is checked
against a plain-Python computation on DuckDB and PostgreSQL, for users, devices and the
whole client, in both query shapes (an empty bucket is 0, ``min`` and ``max`` included).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import bucket_start, days_between
from support import SHIPPED_SEMANTIC_DIR

from daybook.cli import main
from daybook.semantic import Catalog, load_catalog
from semantic.marts import FACT_COLUMNS, FactRow, replace_fact_rows
from semantic.strategies import Request, anchors, fact_rows, requests

NEW_METRICS_YAML = """
semantic_models:
  - name: team_activity
    description: The activity fact with the team's own measures.
    model: ref('fct_activity_daily')
    primary_entity: team_activity_row
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: client, type: foreign, expr: client_id}
      - {name: user, type: foreign, expr: user_id}
      - {name: device, type: foreign, expr: device_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
    measures:
      - name: browser_events
        agg: sum
        expr: chrome_activity_count + edge_activity_count + firefox_activity_count
      - name: busy_rows
        agg: sum
        expr: CASE WHEN total_activity_count >= 60 THEN 1 ELSE 0 END
      - {name: fact_rows, agg: count, expr: "1"}
      - {name: peak_events, agg: max, expr: total_activity_count}
      - {name: lowest_events, agg: min, expr: total_activity_count}
      - {name: distinct_days, agg: count_distinct, expr: activity_date}
metrics:
  - name: browser_activity
    label: Browser Activity
    description: Activity in any web browser.
    type: simple
    type_params: {measure: browser_events}
  - name: busy_days
    label: Busy Device-Days
    description: Device-days with at least 60 activity events.
    type: simple
    type_params: {measure: busy_rows}
  - name: active_rows
    label: Active User-Device-Days
    description: Rows of the fact, one per user, device and day with activity.
    type: simple
    type_params: {measure: fact_rows}
  - name: peak_activity
    label: Peak Activity
    description: Largest activity of one user on one device on one day.
    type: simple
    type_params: {measure: peak_events}
  - name: lowest_activity
    label: Lowest Activity
    description: Smallest activity of one user on one device on one active day.
    type: simple
    type_params: {measure: lowest_events}
  - name: days_active
    label: Active Days
    description: Distinct days with activity.
    type: simple
    type_params: {measure: distinct_days}
"""


# metric -> (value of one fact row, aggregation over a bucket's non-empty list of those values)
EXPECTED: dict[str, tuple[Callable[[dict], object], Callable[[list], int]]] = {
    "browser-activity": (
        lambda r: (
            r["chrome_activity_count"] + r["edge_activity_count"] + r["firefox_activity_count"]
        ),
        sum,
    ),
    "busy-days": (lambda r: int(r["total_activity_count"] >= 60), sum),
    "active-rows": (lambda r: 1, len),
    "peak-activity": (lambda r: r["total_activity_count"], max),
    "lowest-activity": (lambda r: r["total_activity_count"], min),
    "days-active": (lambda r: r["activity_date"], lambda values: len(set(values))),
}


def expected_series(rows: list[FactRow], request: Request) -> list[tuple]:
    value_of, combine = EXPECTED[request.metric]
    key = {"user": "user_id", "device": "device_id", "client": "client_id"}[request.entity]
    buckets: dict = {
        bucket_start(day, request.granularity): []
        for day in days_between(request.start, request.end)
    }
    for row in rows:
        values = dict(zip(FACT_COLUMNS, row, strict=True))
        if (
            values["client_id"] == request.tenant_id
            and values[key] == request.entity_id
            and request.start <= values["activity_date"] <= request.end
        ):
            buckets[bucket_start(values["activity_date"], request.granularity)].append(
                value_of(values)
            )
    return [(bucket, combine(found) if found else 0) for bucket, found in sorted(buckets.items())]


@pytest.fixture(scope="module")
def extended_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped ``semantic/`` plus one new YAML file."""
    folder = tmp_path_factory.mktemp("extended") / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    (folder / "team_additions.yml").write_text(NEW_METRICS_YAML, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def extended(extended_dir: Path, manifest_path: Path) -> Catalog:
    return load_catalog(extended_dir, manifest_path=manifest_path)


def test_new_yaml_metrics_join_the_catalogue_after_the_shipped_ones(
    extended: Catalog, catalog: Catalog
) -> None:
    assert list(extended.metrics) == [*catalog.metrics, *EXPECTED]
    for entity in ("user", "device", "client"):
        names = [metric.name for metric in extended.metrics_for(entity)]
        assert names[-len(EXPECTED) :] == list(EXPECTED)


def test_new_yaml_metrics_are_listed_by_the_cli(
    extended_dir: Path, manifest_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(extended_dir))
    monkeypatch.setenv("DAYBOOK_DBT_MANIFEST", str(manifest_path))
    output = CliRunner().invoke(main, ["metrics"]).output
    for name in EXPECTED:
        assert f"\n{name} " in output


def _check(con, extended: Catalog, data: st.DataObject, dialect: str) -> None:
    anchor = data.draw(anchors(), label="anchor")
    rows = data.draw(fact_rows(anchor), label="fact rows")
    replace_fact_rows(con, rows, backend=dialect)
    # draw only the new metrics: the shipped ones are covered by test_semantic_properties
    new_only = Catalog(
        entities=extended.entities, metrics={name: extended.metrics[name] for name in EXPECTED}
    )
    for _ in range(4):
        request = data.draw(requests(new_only, anchor, rows), label="request")
        for shape in ("series", "buckets"):  # "buckets": what the API runs, then fill()
            query = extended.compile(
                metric=request.metric,
                entity=request.entity,
                granularity=request.granularity,
                dialect=dialect,
                shape=shape,
            )
            params = query.parameters(
                tenant_id=request.tenant_id,
                entity_id=request.entity_id,
                start_date=request.start,
                end_date=request.end,
            )
            got = [tuple(row) for row in con.execute(query.sql, params).fetchall()]
            if shape == "buckets":  # min and max too: 0 where no row, as the contract says
                assert "calendar_day" not in query.sql, request  # no day spine
                got = query.fill(got, request.start, request.end)
            assert got == expected_series(rows, request), (shape, request)
            assert all(type(value) is int for _, value in got)


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_new_yaml_metrics_compute_correctly_on_duckdb(
    duckdb_marts, extended: Catalog, data
) -> None:
    _check(duckdb_marts, extended, data, "duckdb")


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_new_yaml_metrics_compute_correctly_on_postgres(
    postgres_marts, extended: Catalog, data
) -> None:
    _check(postgres_marts, extended, data, "postgres")
