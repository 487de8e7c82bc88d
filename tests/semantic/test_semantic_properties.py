"""Compiled metric SQL, run on DuckDB and PostgreSQL, equals the plain-Python reference.

Random facts and random requests (any metric, entity and granularity; ranges
up to 90 days that start mid-week or mid-quarter, before or after all data)
check the contract's series semantics: one row per overlapping bucket, dated
by its first day, only in-range days counted, zero-filled, and distinct counts
recomputed per bucket rather than summed. Both query shapes are checked: the
``series`` SQL as is, and the ``buckets`` SQL the API runs, filled in Python.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference, client_series, computes, series

from daybook.semantic import Catalog
from daybook.semantic.calendar import fill
from semantic.marts import FACT_COLUMNS, FactRow, replace_fact_rows
from semantic.strategies import Request, anchors, fact_rows, requests

SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def reference_series(rows: list[FactRow], request: Request) -> list[tuple]:
    """The contract's answer from ``tests/reference.py`` over the same fact rows."""
    activity = {}
    for row in rows:
        values = dict(zip(FACT_COLUMNS, row, strict=True))
        key = (values["client_id"], values["activity_date"], values["user_id"], values["device_id"])
        activity[key] = {name: values[name] for name in FACT_COLUMNS[4:]}
    if request.entity == "client":
        return client_series(
            Reference(activity=activity),
            client_id=request.tenant_id,
            metric=request.metric,
            start=request.start,
            end=request.end,
            granularity=request.granularity,
        )
    return series(
        Reference(activity=activity),
        entity=request.entity,
        client_id=request.tenant_id,
        entity_id=request.entity_id,
        metric=request.metric,
        start=request.start,
        end=request.end,
        granularity=request.granularity,
    )


def run(con, catalog: Catalog, request: Request, dialect: str, shape: str) -> list[tuple]:
    """The series as a caller gets it: the ``series`` shape as is, ``buckets`` filled."""
    query = catalog.compile(
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
    rows = [tuple(row) for row in con.execute(query.sql, params).fetchall()]
    if shape == "buckets":
        assert [bucket for bucket, _ in rows] == sorted({bucket for bucket, _ in rows})
        return fill(rows, request.start, request.end, request.granularity)
    return rows


def check(con, catalog: Catalog, data: st.DataObject, dialect: str) -> None:
    anchor = data.draw(anchors(), label="anchor")
    rows = data.draw(fact_rows(anchor), label="fact rows")
    replace_fact_rows(con, rows, backend=dialect)
    # the metrics reference.series computes (dbt's other types: test_metric_types_*)
    simple = Catalog(
        entities=catalog.entities,
        metrics={name: metric for name, metric in catalog.metrics.items() if computes(name)},
    )
    for _ in range(4):  # several requests per table fill: the fill costs more than a query
        request = data.draw(requests(simple, anchor, rows), label="request")
        expected = reference_series(rows, request)
        for shape in ("series", "buckets"):
            got = run(con, catalog, request, dialect, shape)
            assert got == expected, (shape, request)
            assert all(type(value) is int for _, value in got)


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_series_on_duckdb_equal_the_reference(duckdb_marts, catalog: Catalog, data) -> None:
    check(duckdb_marts, catalog, data, "duckdb")


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_series_on_postgres_equal_the_reference(postgres_marts, catalog: Catalog, data) -> None:
    check(postgres_marts, catalog, data, "postgres")
