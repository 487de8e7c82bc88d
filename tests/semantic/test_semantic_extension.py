"""A data team adds metrics as YAML alone: they load, list and compute correctly, no Python change.

The new file uses every aggregation the format offers (sum over an
expression, count of rows, count_distinct, min, max, average) so each is
checked against a plain-Python computation on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from fractions import Fraction
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
metrics:
  - name: browser-activity
    label: Browser Activity
    description: Activity in any web browser.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: sum
    expression: chrome_activity_count + edge_activity_count + firefox_activity_count
    entities: [user, device]
  - name: busy-days
    label: Busy Device-Days
    description: Device-days with at least 60 activity events.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: sum
    expression: CASE WHEN total_activity_count >= 60 THEN 1 ELSE 0 END
    entities: [user, device]
  - name: active-rows
    label: Active User-Device-Days
    description: Rows of the fact, one per user, device and day with activity.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: count
    expression: "*"
    entities: [user, device]
  - name: peak-activity
    label: Peak Activity
    description: Largest activity of one user on one device on one day.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: max
    expression: total_activity_count
    entities: [user, device]
  - name: lowest-activity
    label: Lowest Activity
    description: Smallest activity of one user on one device on one active day.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: min
    expression: total_activity_count
    entities: [user, device]
  - name: average-heartbeats
    label: Average Heartbeats
    description: Mean heartbeats per user-device-day, rounded half up.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: average
    expression: heartbeat_count
    entities: [user, device]
  - name: active-days
    label: Active Days
    description: Distinct days with activity.
    model: fct_activity_daily
    time_column: activity_date
    aggregation: count_distinct
    expression: activity_date
    entities: [user, device]
"""


def _round_half_up(values: list[int]) -> int:
    return math.floor(Fraction(sum(values), len(values)) + Fraction(1, 2))


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
    "average-heartbeats": (lambda r: r["heartbeat_count"], _round_half_up),
    "active-days": (lambda r: r["activity_date"], lambda values: len(set(values))),
}


def expected_series(rows: list[FactRow], request: Request) -> list[tuple]:
    value_of, combine = EXPECTED[request.metric]
    key = "user_id" if request.entity == "user" else "device_id"
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
    (folder / "metrics" / "team_additions.yml").write_text(NEW_METRICS_YAML, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def extended(extended_dir: Path, manifest_path: Path) -> Catalog:
    return load_catalog(extended_dir, manifest_path=manifest_path)


def test_new_yaml_metrics_join_the_catalogue_after_the_shipped_ones(
    extended: Catalog, catalog: Catalog
) -> None:
    assert list(extended.metrics) == [*catalog.metrics, *EXPECTED]
    for entity in ("user", "device"):
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
        query = extended.compile(
            metric=request.metric,
            entity=request.entity,
            granularity=request.granularity,
            dialect=dialect,
        )
        params = query.parameters(
            tenant_id=request.tenant_id,
            entity_id=request.entity_id,
            start_date=request.start,
            end_date=request.end,
        )
        got = [tuple(row) for row in con.execute(query.sql, params).fetchall()]
        assert got == expected_series(rows, request), request
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
