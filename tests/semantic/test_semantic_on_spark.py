"""Compiled metric SQL for dialect ``spark``, run on a real Spark Connect server, equals the
independent reference (issue 15), as the DuckDB and PostgreSQL tests check theirs.

Not golden text alone: sqlglot renders some shapes that Spark refuses or reads otherwise
(nested generators, aliased table functions, positional ``$1`` markers), so every shape
the compiler emits runs here. The marts are written straight into Spark tables from
Arrow (the columns and types of the dbt-built marts), not built by dbt: one small fact
and ``dim_devices`` serve the whole module. Queries run exactly as compiled, with the
parameters bound the way the API binds them on Spark: ``CompiledQuery.parameters`` gives
a dict for the ``:name`` markers, passed through ``daybook.spark.dbapi`` to
``spark.sql(sql, args=dict)``.

- The shipped simple metrics (``semantic/``) for every entity and grain, in both shapes,
  against ``tests/reference.py``.
- Every metric of ``semantic.metric_types.SPEC`` (each aggregation, filters on the
  fact and one hop away, ratio, derived with week/month/year/day offsets, cumulative
  windows, grain to date, all history, each ``period_agg``) for every entity and grain,
  on ranges across the 2025/2026 DST changes and random ranges around the data, against
  ``tests/reference_metrics.py``.
- The rolling distinct counts at gaps just under, at and just over their windows.
- The shipped metrics of the other types (what the API serves besides the simple ones),
  against ``tests/reference_metrics.py`` reading the shipped YAML.

Spark answers a query in about a second here (several under load), mostly fixed
overhead, so the queries of a test run on a few sessions at once, a test checks many of
them, and the rarer axes rotate (entity and shape per metric and grain) rather than
multiply.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from reference import GRANULARITIES, Reference, client_series, computes, series
from reference_metrics import MetricReference

from daybook.semantic import Catalog
from daybook.semantic.metric_sql import ManifestView, compile_metric, metric_entities
from daybook.semantic.query import CompiledQuery
from daybook.warehouse import connect
from semantic.metric_types import (
    DEVICE_COLUMNS,
    DEVICES,
    ENTITIES,
    FACT,
    FACT_COLUMNS,
    SPEC,
    parse_manifest,
    parse_shipped,
    same_value,
    shipped_spec,
    tables_for_reference,
)

# a Spark server (seconds to start, about a second a query): the build tier
pytestmark = pytest.mark.build

SESSIONS = 4  # queries in flight at once: Spark's fixed cost per query overlaps
METRICS = sorted(metric["name"] for metric in SPEC["metrics"])
DST_RANGES = (
    (date(2025, 10, 20), date(2025, 11, 9)),
    (date(2026, 3, 2), date(2026, 4, 5)),
    (date(2026, 3, 26), date(2026, 4, 1)),
)
CLIENTS, USERS, DEVICE_IDS = ("c-1", "c-2"), ("u-1", "u-2", "u-3"), ("d-1", "d-2", "d-3", "d-4")
ANCHOR, DATA_DAYS = date(2025, 9, 15), 230  # the data spans both DST changes
GAPS_CLIENT, GAPS_START = "c-3", date(2026, 1, 5)
ROLLING = ("users_7d", "users_28d", "users_2w", "windows_users_7d", "users_7d_change")


@dataclass(frozen=True)
class Marts:
    """The rows written to Spark and the connections the tests query them through."""

    fact: list[tuple]
    devices: list[tuple]
    connections: list[Any]

    def run_all(self, jobs: list[Callable[[Any], Any]]) -> list[Any]:
        """Each job called with a connection, ``SESSIONS`` at a time; results in job order."""
        with ThreadPoolExecutor(len(self.connections)) as pool:
            futures = [
                pool.submit(job, self.connections[i % len(self.connections)])
                for i, job in enumerate(jobs)
            ]
            return [future.result() for future in futures]


def fact_rows(chooser: random.Random) -> list[tuple]:
    """Rows unique on (client, day, user, device) over ``DATA_DAYS`` days, dense enough
    that users recur within a week; plus ``GAPS_CLIENT``'s users active on days whose
    gaps are just under, at and just over each rolling window (6/7/8, 13/14/15,
    27/28/29 days)."""
    keys: set[tuple] = set()
    while len(keys) < 320:
        day = ANCHOR + timedelta(days=chooser.randint(0, DATA_DAYS))
        keys.add((chooser.choice(CLIENTS), day, chooser.choice(USERS), chooser.choice(DEVICE_IDS)))
    rows = []
    for key in sorted(keys):
        sources = [chooser.randint(0, 30) for _ in range(5)]
        rows.append((*key, *sources, sum(sources), chooser.randint(1, 6)))
    day = GAPS_START
    for gap in (0, 6, 7, 8, 13, 14, 15, 27, 28, 29, 1, 2):
        day += timedelta(days=gap)
        rows.append((GAPS_CLIENT, day, "u-1", "d-1", 1, 0, 0, 0, 0, 1, 1))
        rows.append((GAPS_CLIENT, day + timedelta(days=3), "u-2", "d-2", 2, 0, 0, 0, 0, 2, 1))
    return rows


DEVICE_ROWS = [  # d-4 has no row: a filter on its platform is false
    ("d-1", "c-1", "windows"),
    ("d-2", "c-1", "macos"),
    ("d-3", "c-2", "linux"),
]


def write_table(session: Any, name: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """``rows`` as the Spark table ``name``: strings, dates and BIGINT counts, the types of
    the dbt-built marts (dbt-spark writes parquet tables in the default database)."""
    import pyarrow as pa

    def kind(column: str) -> Any:
        if column == "activity_date":
            return pa.date32()
        return pa.string() if column in DEVICE_COLUMNS or column == "user_id" else pa.int64()

    arrow = pa.table(
        {c: pa.array([row[i] for row in rows], type=kind(c)) for i, c in enumerate(columns)}
    )
    session.createDataFrame(arrow).write.format("parquet").saveAsTable(name)


@pytest.fixture(scope="module")
def marts(spark_server) -> Iterator[Marts]:
    """The session's Spark server, emptied, holding this module's fact and ``dim_devices``."""
    from support import reset_spark_warehouse

    warehouse = reset_spark_warehouse(spark_server)
    fact = fact_rows(random.Random(15))
    connections = [connect(warehouse) for _ in range(SESSIONS)]
    try:
        session = connections[0].session
        write_table(session, FACT, FACT_COLUMNS, fact)
        write_table(session, DEVICES, DEVICE_COLUMNS, DEVICE_ROWS)
        for table in (FACT, DEVICES):  # kept in memory: each query reads them several times
            session.sql(f"cache table {table}")
        yield Marts(fact, DEVICE_ROWS, connections)
    finally:
        for con in connections:
            con.close()


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> ManifestView:
    """The test YAML of every metric type as dbt parses it."""
    return ManifestView.from_json(parse_manifest(tmp_path_factory.mktemp("spark_types")))


@dataclass(frozen=True)
class Asked:
    """One request: the compiled query and the values it binds."""

    query: CompiledQuery
    tenant_id: str
    entity_id: str | None
    start: date
    end: date

    def job(self) -> Callable[[Any], list[tuple]]:
        """Run the SQL as compiled, binding the request the API's way (a dict on Spark)."""

        def run(con: Any) -> list[tuple]:
            params = self.query.parameters(
                tenant_id=self.tenant_id,
                entity_id=self.entity_id,
                start_date=self.start,
                end_date=self.end,
            )
            assert isinstance(params, dict)  # :name markers, bound by name
            rows = [tuple(row) for row in con.cursor().execute(self.query.sql, params).fetchall()]
            assert [b for b, _ in rows] == sorted({b for b, _ in rows}), "not oldest first"
            return rows

        return run


def near_data(chooser: random.Random, fact: list[tuple]) -> tuple[date, date, tuple]:
    """A random range of 1..90 days: half across a DST change, half around a random row
    (whose tenant and entities the request then asks about)."""
    row = chooser.choice([r for r in fact if r[0] in CLIENTS])
    if chooser.random() < 0.5:
        start, end = chooser.choice(DST_RANGES)
    else:
        start = row[1] - timedelta(days=chooser.randint(0, 45))
        end = start + timedelta(days=chooser.randint(0, 89))
    return start, end, row


def test_spark_sql_binds_named_markers_as_a_dict(catalog: Catalog, view: ManifestView) -> None:
    """What the API passes to ``spark.sql(sql, args=...)``: the ``:name`` markers the SQL
    carries, as a dict of exactly those names (no positional markers, nothing formatted in)."""
    day = date(2026, 1, 5)
    for query in (
        catalog.compile(
            metric="activity-count", entity="user", granularity="weekly", dialect="spark"
        ),
        compile_metric(view, "chrome_share_wow", "client", "monthly", "spark"),
    ):
        params = query.parameters(tenant_id="c-1", entity_id="u-1", start_date=day, end_date=day)
        assert isinstance(params, dict)
        for name in params:
            assert f":{name}" in query.sql
        assert "?" not in query.sql and "$" not in query.sql and "2026" not in query.sql
    assert "entity_id" not in params  # the whole client binds no entity


def test_shipped_simple_metrics_on_spark_equal_the_reference(
    marts: Marts, catalog: Catalog
) -> None:
    """Every shipped simple metric, entity and grain; each (metric, grain) and (metric,
    entity) in both shapes (the API runs ``buckets``, filled in Python)."""
    reference = Reference(
        activity={row[:4]: dict(zip(FACT_COLUMNS[4:], row[4:], strict=True)) for row in marts.fact}
    )
    chooser = random.Random(151)
    asked, expected = [], []
    simple = [metric for metric in catalog.metrics.values() if computes(metric.name)]
    for metric in simple:
        for e, entity in enumerate(metric.entities):
            for g, granularity in enumerate(GRANULARITIES):
                start, end, row = near_data(chooser, marts.fact)
                entity_id = {"user": row[2], "device": row[3]}.get(entity)
                shape = ("series", "buckets")[(e + g) % 2]
                query = catalog.compile(
                    metric=metric.name,
                    entity=entity,
                    granularity=granularity,
                    dialect="spark",
                    shape=shape,
                )
                asked.append(Asked(query, row[0], entity_id, start, end))
                where = dict(client_id=row[0], start=start, end=end, granularity=granularity)
                if entity == "client":
                    expected.append(client_series(reference, metric=metric.name, **where))
                else:
                    expected.append(
                        series(
                            reference,
                            entity=entity,
                            entity_id=entity_id,
                            metric=metric.name,
                            **where,
                        )
                    )
    results = marts.run_all([request.job() for request in asked])
    wrong = []
    for request, rows, want in zip(asked, results, expected, strict=True):
        got = request.query.fill(rows, request.start, request.end)
        if got != want or not all(type(value) is int for _, value in got):
            wrong.append((request, got, want))
    assert not wrong, wrong[:3]
    assert len(asked) == 4 * sum(len(metric.entities) for metric in simple)
    assert sum(1 for want in expected for _, value in want if value) > len(asked)


def assert_same(marts: Marts, asked: list[Asked], expected: list[list[tuple]]) -> None:
    """Run every request; each bucket equals the reference's (``same_value``: ints stay
    ints, floats to 1e-9, None only where the reference has none)."""
    results = marts.run_all([request.job() for request in asked])
    wrong = []
    for request, rows, want in zip(asked, results, expected, strict=True):
        got = request.query.fill(rows, request.start, request.end)
        bad = [(b, g, e) for (b, g), (_, e) in zip(got, want, strict=True) if not same_value(g, e)]
        if [b for b, _ in got] != [b for b, _ in want] or bad:
            query = request.query
            wrong.append((query.metric, query.entity, query.granularity, query.shape, request, bad))
    assert not wrong, wrong[:3]


TypeRequest = tuple[str, str, str, str, str, str | None, date, date]


def check_types(marts: Marts, view: ManifestView, requests: list[TypeRequest]) -> int:
    """Run ``(metric, entity, granularity, shape, tenant, entity_id, start, end)`` requests
    and compare every bucket with ``reference_metrics``; the number of valued buckets."""
    reference = MetricReference(SPEC, tables_for_reference(marts.fact, marts.devices))
    asked, expected = [], []
    for metric, entity, granularity, shape, tenant, entity_id, start, end in requests:
        query = compile_metric(view, metric, entity, granularity, "spark", shape=shape)
        asked.append(Asked(query, tenant, entity_id, start, end))
        expected.append(
            reference.series(
                metric=metric,
                entity=entity,
                tenant_id=tenant,
                entity_id=entity_id,
                start=start,
                end=end,
                granularity=granularity,
            )
        )
    assert_same(marts, asked, expected)
    return sum(1 for want in expected for _, value in want if value not in (0, None))


def test_every_metric_type_on_spark_equals_the_reference(marts: Marts, view: ManifestView) -> None:
    """Every metric of the test YAML at two grains (each grain for several metrics of each
    type), on DST and random ranges; the entity and the shape rotate over the metrics."""
    chooser = random.Random(16)
    requests = []
    for m, metric in enumerate(METRICS):
        for g, granularity in enumerate(GRANULARITIES):
            if (m + g) % 2:  # two grains a metric, every grain across the metrics of a type
                continue
            entity = ENTITIES[(m + g // 2) % len(ENTITIES)]
            shape = ("series", "buckets")[(m // 2 + g // 2) % 2]
            start, end, row = near_data(chooser, marts.fact)
            entity_id = {"user": row[2], "device": row[3]}.get(entity)
            requests.append((metric, entity, granularity, shape, row[0], entity_id, start, end))
    valued = check_types(marts, view, requests)
    assert valued > len(requests), "too few buckets with activity to tell anything apart"


def test_rolling_windows_on_spark_at_every_gap_between_active_days(
    marts: Marts, view: ManifestView
) -> None:
    """A user active on days whose gaps are just under, at and just over each window: each
    day's (and week's) rolling count equals the reference, from the first active day on
    or from 40 days later (the window then reaches before ``start_date``)."""
    end = GAPS_START + timedelta(days=sum((6, 7, 8, 13, 14, 15, 27, 28, 29, 1, 2)) + 30)
    late = GAPS_START + timedelta(days=40)
    requests: list[TypeRequest] = [
        (metric, entity, granularity, "series", GAPS_CLIENT, entity_id, start, end)
        for metric in ROLLING
        for e, (entity, entity_id) in enumerate(
            (("user", "u-1"), ("device", "d-1"), ("client", None))
        )
        for g, granularity in enumerate(("daily", "weekly"))
        if (e + g) % 2 == 0 or metric == "users_7d"
        for start in ((GAPS_START, late)[(e + g // 2) % 2],)
    ]
    assert check_types(marts, view, requests) > len(requests)


def test_shipped_metrics_of_every_type_on_spark_equal_the_reference(
    marts: Marts, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The shipped ``semantic/`` metrics of the other types (ratio, derived, cumulative,
    filtered; the simple ones are checked above), compiled from the manifest dbt parses,
    at every grain; the entity rotates over those each metric has, the shape over both."""
    view = ManifestView.from_json(parse_shipped(tmp_path_factory.mktemp("spark_shipped")))
    spec = shipped_spec()
    reference = MetricReference(spec, tables_for_reference(marts.fact, marts.devices))
    chooser = random.Random(1516)
    asked, expected = [], []
    simple = {metric.replace("-", "_") for metric in catalog.metrics if computes(metric)}
    others = sorted(item["name"] for item in spec["metrics"] if item["name"] not in simple)
    assert others and len(simple) == 8
    for m, metric in enumerate(others):
        entities = metric_entities(view, metric)
        assert "client" in entities, metric
        for g, granularity in enumerate(GRANULARITIES):
            if (m + g) % 2:  # two grains a metric (Spark's time per query)
                continue
            entity = entities[(m + g // 2) % len(entities)]
            shape = ("series", "buckets")[(m + g) % 2]
            start, end, row = near_data(chooser, marts.fact)
            entity_id = {"user": row[2], "device": row[3]}.get(entity)
            query = compile_metric(view, metric, entity, granularity, "spark", shape=shape)
            asked.append(Asked(query, row[0], entity_id, start, end))
            expected.append(
                reference.series(
                    metric=metric,
                    entity=entity,
                    tenant_id=row[0],
                    entity_id=entity_id,
                    start=start,
                    end=end,
                    granularity=granularity,
                )
            )
    assert_same(marts, asked, expected)
