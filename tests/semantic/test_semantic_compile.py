"""Compile-time behaviour: caching, parameter binding, safety, dates far from any data."""

from __future__ import annotations

from datetime import date

import pytest
from reference import bucket_start, days_between

from daybook.semantic import GRANULARITIES, Catalog, SemanticError
from semantic.marts import fact_row, replace_fact_rows


def test_compile_is_cached_per_metric_entity_granularity_dialect(catalog: Catalog) -> None:
    key = {"metric": "activity-count", "entity": "user", "granularity": "weekly"}
    first = catalog.compile(**key, dialect="duckdb")
    assert catalog.compile(**key, dialect="duckdb") is first
    assert catalog.compile(**key, dialect="postgres") is not first
    assert catalog.compile(**{**key, "granularity": "daily"}, dialect="duckdb") is not first


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (
            "duckdb",
            {
                "tenant_id": "t",
                "entity_id": "e",
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 1, 9),
            },
        ),
        (
            "postgres",
            {
                "tenant_id": "t",
                "entity_id": "e",
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 1, 9),
            },
        ),
        ("snowflake", ("t", "e", date(2026, 1, 1), date(2026, 1, 9))),
    ],
)
def test_parameters_take_the_drivers_form(catalog: Catalog, dialect: str, expected) -> None:
    query = catalog.compile(
        metric="activity-count", entity="user", granularity="daily", dialect=dialect
    )
    params = query.parameters(
        tenant_id="t", entity_id="e", start_date=date(2026, 1, 1), end_date=date(2026, 1, 9)
    )
    assert params == expected


def test_a_range_ending_before_it_starts_is_refused(catalog: Catalog) -> None:
    query = catalog.compile(
        metric="activity-count", entity="user", granularity="daily", dialect="duckdb"
    )
    with pytest.raises(SemanticError, match="after end_date"):
        query.parameters(
            tenant_id="t", entity_id="e", start_date=date(2026, 1, 2), end_date=date(2026, 1, 1)
        )


def _execute(
    con, catalog: Catalog, dialect: str, *, metric: str, entity: str, granularity: str, **values
):
    query = catalog.compile(metric=metric, entity=entity, granularity=granularity, dialect=dialect)
    return [tuple(row) for row in con.execute(query.sql, query.parameters(**values)).fetchall()]


@pytest.fixture(params=["duckdb", "postgres"])
def marts(request: pytest.FixtureRequest):
    """(connection, dialect) holding one known row, on each backend."""
    con = request.getfixturevalue(f"{request.param}_marts")
    row = fact_row("c-1", date(2026, 1, 7), "u-1", "d-1", (1, 2, 3, 4, 5), 2)
    replace_fact_rows(con, [row], backend=request.param)
    return con, request.param


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize(
    ("start", "end"),
    [(date(1899, 12, 20), date(1900, 3, 1)), (date(2199, 11, 15), date(2200, 1, 31))],
)
def test_ranges_far_from_any_data_still_get_every_bucket(
    marts, catalog: Catalog, granularity: str, start: date, end: date
) -> None:
    """The spine is generated in SQL, so no calendar table bounds the dates a request may ask."""
    con, dialect = marts
    got = _execute(
        con,
        catalog,
        dialect,
        metric="activity-count",
        entity="user",
        granularity=granularity,
        tenant_id="c-1",
        entity_id="u-1",
        start_date=start,
        end_date=end,
    )
    expected = sorted({bucket_start(day, granularity) for day in days_between(start, end)})
    assert got == [(bucket, 0) for bucket in expected]


@pytest.mark.parametrize(
    "hostile", ["u-1' OR '1'='1", "u-1'; DROP TABLE fct_activity_daily; --", "%(x)s"]
)
def test_request_values_are_bound_never_spliced(marts, catalog: Catalog, hostile: str) -> None:
    con, dialect = marts
    values = {"start_date": date(2026, 1, 5), "end_date": date(2026, 1, 8)}
    got = _execute(
        con,
        catalog,
        dialect,
        metric="activity-count",
        entity="user",
        granularity="weekly",
        tenant_id="c-1",
        entity_id=hostile,
        **values,
    )
    assert got == [(date(2026, 1, 5), 0)]
    real = _execute(
        con,
        catalog,
        dialect,
        metric="activity-count",
        entity="user",
        granularity="weekly",
        tenant_id="c-1",
        entity_id="u-1",
        **values,
    )
    assert real == [(date(2026, 1, 5), 15)]  # the table is intact


def test_warm_compiles_every_key_of_a_dialect_up_front(manifest_path) -> None:
    from support import SHIPPED_SEMANTIC_DIR

    from daybook.semantic import load_catalog

    fresh = load_catalog(SHIPPED_SEMANTIC_DIR, manifest_path=manifest_path)
    count = fresh.warm("postgres")
    assert count == sum(len(m.entities) for m in fresh.metrics.values()) * len(GRANULARITIES)
    query = fresh.compile(
        metric="user-count", entity="device", granularity="quarterly", dialect="postgres"
    )
    assert (
        fresh.compile(
            metric="user-count", entity="device", granularity="quarterly", dialect="postgres"
        )
        is query
    )
    assert len(fresh._cache) == count
