"""Spark tests over the session's sample: its marts written into a Spark server, and random
API requests checked against the independent reference.

Writing the marts built on DuckDB into Spark (through Arrow) keeps a test of serving from
Spark independent of dbt running on Spark, which its own tests cover.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reference import GRANULARITIES, newest_received_by_client
from served_api import DATA_START, activity_path, expected_body
from werkzeug.http import http_date

from daybook.config import Warehouse
from daybook.serving import serving_tables


def copy_marts_to_spark(source: Warehouse, spark: Warehouse) -> None:
    """The source's serving marts as Spark tables of the default database (via Arrow),
    each dropped and written again, as a rebuild does."""
    from daybook.spark.session import open_session
    from daybook.warehouse import connection

    session = open_session(spark.url)
    try:
        with connection(source, read_only=True) as con:
            for table in serving_tables():
                arrow = con.cursor().execute(f"select * from {table}").to_arrow_table()
                session.createDataFrame(arrow).write.mode("overwrite").saveAsTable(table)
    finally:
        session.stop()


def answers_like_the_reference(api: Any, rng: Any, *, per_entity: int = 8) -> None:
    """Random activity requests to ``api`` (users, devices, whole clients; every metric it
    lists, every granularity) equal the reference's answers, each with its client's own
    ``Last-Modified``."""
    token = api.token()
    for entity in ("user", "device", "client"):
        metrics = _metric_names(entity)
        candidates = api.active_entities(entity)
        for _ in range(per_entity):
            client, entity_id = rng.choice(candidates)
            metric = rng.choice(metrics)
            granularity = rng.choice(GRANULARITIES)
            start = DATA_START + timedelta(days=rng.randint(-20, 181))
            end = start + timedelta(days=rng.randint(0, 89))
            params = {
                "metric": metric,
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "granularity": granularity,
            }
            answer = api.get(activity_path(client, entity, entity_id), token, params=params)
            assert answer.status_code == 200, (entity, params, answer.text)
            expected = expected_body(
                api, entity, client, entity_id, metric, start, end, granularity
            )
            assert answer.json() == expected, (entity, params)
            # Last-Modified: the client's own newest heartbeat, from the published freshness mart
            newest = newest_received_by_client(api.reference)[client]
            assert answer.headers["Last-Modified"] == http_date(newest.replace(microsecond=0))


def _metric_names(entity: str) -> list[str]:
    from daybook.semantic import load_catalog

    return [metric.name for metric in load_catalog().metrics_for(entity)]
