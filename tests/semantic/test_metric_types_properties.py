"""dbt's metric types compiled by ``compile_metric``, run on DuckDB and PostgreSQL, equal
the plain-Python reference (``tests/reference_metrics.py``) on random data.

Every metric of ``semantic.metric_types.SPEC`` (simple with each aggregation and with
filters on its own model and one hop away, ratio with per-input filters, derived with
week/month/year offsets and nested ratios, cumulative windows, grain to date, all
history and each ``period_agg``) for users, devices and the whole client, at every
grain, over ranges that start before, inside or after the data (so windows and offsets
read days before ``start_date``, edge buckets are partial, denominators are zero or
absent, and weeks cross the 2025/2026 DST changes). Both query shapes are checked, and
the values' types: integers stay ``int``, ratio/derived/average values are ``float``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_metrics import MetricReference
from support import create_postgres_database, drop_postgres_database, require_postgres

from daybook.semantic.metric_sql import ManifestView, compile_metric
from semantic.metric_types import (
    SPEC,
    Request,
    create_tables,
    parse_manifest,
    replace_rows,
    requests,
    same_value,
    tables_for_reference,
    warehouses,
)

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
METRICS = sorted(metric["name"] for metric in SPEC["metrics"])


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> ManifestView:
    """The test YAML as dbt parses it (its ``semantic_manifest.json``)."""
    return ManifestView.from_json(parse_manifest(tmp_path_factory.mktemp("metric_types")))


@pytest.fixture(scope="module")
def duckdb_con() -> Iterator:
    import duckdb

    con = duckdb.connect()
    create_tables(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def postgres_con() -> Iterator:
    import psycopg

    require_postgres()
    warehouse = create_postgres_database("daybook_metric_types")
    con = psycopg.connect(warehouse.pg_conninfo, autocommit=True)
    try:
        create_tables(con)
        yield con
    finally:
        con.close()
        drop_postgres_database(warehouse)


_COMPILED: dict = {}


def run(con, view: ManifestView, request: Request, dialect: str, shape: str) -> list[tuple]:
    key = (request.metric, request.entity, request.granularity, dialect, shape)
    if key not in _COMPILED:
        _COMPILED[key] = compile_metric(view, *key[:4], shape=shape)
    query = _COMPILED[key]
    params = query.parameters(
        tenant_id=request.tenant_id,
        entity_id=request.entity_id,
        start_date=request.start,
        end_date=request.end,
    )
    rows = [tuple(row) for row in con.execute(query.sql, params).fetchall()]
    return query.fill(rows, request.start, request.end)


def check(con, view: ManifestView, data: st.DataObject, dialect: str) -> None:
    anchor, fact, devices = data.draw(warehouses(), label="warehouse")
    replace_rows(con, fact, devices)
    reference = MetricReference(SPEC, tables_for_reference(fact, devices))
    for _ in range(6):  # several requests per fill: the fill costs more than a query
        request = data.draw(requests(anchor, fact, METRICS), label="request")
        expected = reference.series(
            metric=request.metric,
            entity=request.entity,
            tenant_id=request.tenant_id,
            entity_id=request.entity_id,
            start=request.start,
            end=request.end,
            granularity=request.granularity,
        )
        for shape in ("series", "buckets"):
            got = run(con, view, request, dialect, shape)
            assert [b for b, _ in got] == [b for b, _ in expected], (shape, request)
            mismatches = [
                (bucket, value, want)
                for (bucket, value), (_, want) in zip(got, expected, strict=True)
                if not same_value(value, want)
            ]
            assert not mismatches, (shape, request, mismatches)


@settings(max_examples=120, **SETTINGS)
@given(data=st.data())
def test_metric_types_on_duckdb_equal_the_reference(duckdb_con, view, data) -> None:
    check(duckdb_con, view, data, "duckdb")


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_metric_types_on_postgres_equal_the_reference(postgres_con, view, data) -> None:
    check(postgres_con, view, data, "postgres")


ROLLING = ("users_7d", "users_28d", "users_2w", "windows_users_7d", "users_7d_change")


@pytest.mark.parametrize("backend_name", ["duckdb", "postgres"])
def test_rolling_windows_at_every_gap_between_active_days(
    request, view: ManifestView, backend_name: str
) -> None:
    """A user active on days whose gaps are just under, at and just over each window
    (6/7/8, 13/14/15, 27/28/29 days): each day's rolling count equals the reference."""
    from datetime import date, timedelta

    con = request.getfixturevalue(f"{backend_name}_con")
    start = date(2026, 1, 5)
    day, fact = start, []
    for gap in (0, 6, 7, 8, 13, 14, 15, 27, 28, 29, 1, 2):
        day += timedelta(days=gap)
        fact.append(("c-1", day, "u-1", "d-1", 1, 0, 0, 0, 0, 1, 1))
        fact.append(("c-1", day + timedelta(days=3), "u-2", "d-2", 2, 0, 0, 0, 0, 2, 1))
    devices = [("d-1", "c-1", "windows"), ("d-2", "c-1", "linux")]
    replace_rows(con, fact, devices)
    reference = MetricReference(SPEC, tables_for_reference(fact, devices))
    end = day + timedelta(days=30)
    for metric in ROLLING:
        for entity, entity_id in (("user", "u-1"), ("device", "d-1"), ("client", None)):
            for granularity in ("daily", "weekly"):
                for range_start in (start, start + timedelta(days=40)):
                    asked = Request(metric, entity, granularity, "c-1", entity_id, range_start, end)
                    expected = reference.series(
                        metric=metric,
                        entity=entity,
                        tenant_id="c-1",
                        entity_id=entity_id,
                        start=range_start,
                        end=end,
                        granularity=granularity,
                    )
                    got = run(con, view, asked, backend_name, "series")
                    pairs = zip(got, expected, strict=True)
                    assert all(same_value(g, e) for (_, g), (_, e) in pairs), (asked, got)
