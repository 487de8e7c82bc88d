"""The compiled filters are sargable: PostgreSQL reads a big fact through its entity index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from daybook.semantic import Catalog
from semantic.marts import FACT


@pytest.fixture(scope="module")
def big_fact(postgres_marts) -> Iterator:
    """60,000 rows over 20 tenants, 1,000 users and 1,500 devices, analysed."""
    con = postgres_marts
    con.execute(
        f"insert into {FACT} select 'c-' || (i % 20), date '2025-01-01' + (i % 365), "
        "'u-' || (i % 1000), 'd-' || (i % 1500), 1, 1, 1, 1, 1, 5, 1 "
        "from generate_series(1, 60000) as i"
    )
    con.execute(f"analyze {FACT}")
    yield con
    con.execute(f"delete from {FACT}")


@pytest.mark.parametrize(
    ("entity", "index"), [("user", "fct_user_day"), ("device", "fct_device_day")]
)
@pytest.mark.parametrize("metric", ["activity-count", "chrome-activity"])
def test_postgres_reads_the_fact_through_its_entity_index(
    big_fact, catalog: Catalog, entity: str, index: str, metric: str
) -> None:
    import psycopg

    query = catalog.compile(metric=metric, entity=entity, granularity="monthly", dialect="postgres")
    params = query.parameters(
        tenant_id="c-7",
        entity_id="u-7" if entity == "user" else "d-7",
        start_date=date(2025, 2, 1),
        end_date=date(2025, 4, 30),
    )
    with psycopg.ClientCursor(big_fact) as cursor:  # EXPLAIN needs the values inlined
        cursor.execute("explain " + query.sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert f"Seq Scan on {FACT}" not in plan, plan
