"""Every metric type's SQL stays sargable: PostgreSQL reads a big fact through the
tenant/entity/day indexes, also with offsets, windows reaching before the range and
filters joined one entity hop away."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from support import create_postgres_database, drop_postgres_database, require_postgres

from daybook.semantic.metric_sql import ManifestView, compile_metric
from semantic.metric_types import DEVICES, FACT, create_tables, parse_manifest

METRICS = (
    "activity_count",
    "windows_activity",
    "desktop_share",
    "activity_wow",
    "activity_mom",
    "users_28d",
    "activity_mtd",
    "users_7d_change",
)
INDEX = {
    "user": "metric_types_user_day",
    "device": "metric_types_device_day",
    "client": "metric_types_client_day",
}


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> ManifestView:
    return ManifestView.from_json(parse_manifest(tmp_path_factory.mktemp("index_use")))


@pytest.fixture(scope="module")
def big_fact() -> Iterator:
    """200,000 rows over 200 tenants, 2,000 users and 3,000 devices, analysed."""
    import psycopg

    require_postgres()
    warehouse = create_postgres_database("daybook_metric_index")
    con = psycopg.connect(warehouse.pg_conninfo, autocommit=True)
    try:
        create_tables(con)
        con.execute(
            f"insert into {FACT} select 'c-' || (i % 200), date '2025-01-01' + (i % 365), "
            "'u-' || (i % 2000), 'd-' || (i % 3000), 1, 1, 1, 1, 1, 5, 1 "
            "from generate_series(1, 200000) as i"
        )
        con.execute(
            f"insert into {DEVICES} select 'd-' || i, 'c-' || (i % 200), "
            "(array['windows', 'macos', 'linux'])[1 + i % 3] from generate_series(0, 2999) as i"
        )
        con.execute(f"analyze {FACT}")
        con.execute(f"analyze {DEVICES}")
        yield con
    finally:
        con.close()
        drop_postgres_database(warehouse)


@pytest.mark.parametrize("entity", ["user", "device", "client"])
@pytest.mark.parametrize("metric", METRICS)
def test_postgres_reads_the_fact_through_its_index(
    big_fact, view: ManifestView, entity: str, metric: str
) -> None:
    import psycopg

    query = compile_metric(view, metric, entity, "weekly", "postgres")
    params = query.parameters(
        tenant_id="c-7",
        entity_id={"user": "u-7", "device": "d-7"}.get(entity),
        start_date=date(2025, 2, 5),
        end_date=date(2025, 4, 30),
    )
    with psycopg.ClientCursor(big_fact) as cursor:  # EXPLAIN needs the values inlined
        cursor.execute("explain " + query.sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert INDEX[entity] in plan, plan
    assert f"Seq Scan on {FACT}" not in plan, plan
