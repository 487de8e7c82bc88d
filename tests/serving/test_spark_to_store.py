"""A Spark warehouse publishes to a serving store through Spark Connect's Arrow results.

The session's sample marts (built by dbt on DuckDB) are written into the Spark server
as tables, so this test does not depend on dbt running on Spark; the serving marts are
then published from Spark into a PostgreSQL and a DuckDB store (the fact tables read a
month at a time), and the API over each store must answer exactly as the independent
reference computes from the sample's raw rows.
"""

from __future__ import annotations

import pytest
from spark_marts import answers_like_the_reference, copy_marts_to_spark

from daybook.serving import current_snapshot, serving_tables

pytestmark = pytest.mark.build  # a Spark server of its own, like the builds


def test_the_api_over_stores_published_from_spark_answers_like_the_reference(
    spark_warehouse, make_store, built_warehouses, samples, rng, monkeypatch
) -> None:
    from in_process_api import InProcess

    from api.app import create_app
    from daybook.publishers import StorePublisher
    from daybook.serving import duckdb_store, postgres_store
    from daybook.serving.plan import incremental_keys

    source = built_warehouses["duckdb"].warehouse
    copy_marts_to_spark(source, spark_warehouse)
    # The marts' dbt unique keys, as a dbt build on Spark would record them in its manifest,
    # so the second publish takes the changes-only path and queries Spark for changed keys.
    keys = incremental_keys(source, serving_tables())
    assert keys, "the sample's manifest names the incremental marts' keys"
    for module in (duckdb_store, postgres_store):
        monkeypatch.setattr(module, "incremental_keys", lambda warehouse, tables: keys)
    sample = samples["duckdb"]
    for store_backend in ("postgres", "duckdb"):
        store = make_store(store_backend)
        first = StorePublisher(store).publish(spark_warehouse)
        api = InProcess(
            backend=store_backend,
            warehouse=store,
            reference=sample.reference,
            clients=sample.raw["clients"],
            users=sample.raw["users"],
            devices=sample.raw["devices"],
            app=create_app({"warehouse": spark_warehouse, "serving_url": store.url}),
        )
        try:
            answers_like_the_reference(api, rng)
            again = StorePublisher(store).publish(spark_warehouse)  # changes only: none
            assert again.snapshot_id != first.snapshot_id
            if store_backend == "postgres":
                assert "changed table(s)" in again.description, again.description
            else:
                snapshot = current_snapshot(store)
                assert snapshot is not None and snapshot.generation == 1
            answers_like_the_reference(api, rng)
        finally:
            api.close()
