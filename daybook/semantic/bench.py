"""Measure the semantic layer: catalogue load, cold compile, cached lookup, bind, execution.

Run ``python -m daybook.semantic.bench`` (add ``--rows 2000000 --postgres`` to
also time queries on a 2M-row fact in DuckDB and PostgreSQL). The figures in
``semantic/README.md`` come from this script.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from itertools import product

import click

from daybook.semantic.calendar import GRANULARITIES
from daybook.semantic.catalog import Catalog
from daybook.semantic.dialects import DIALECTS
from daybook.semantic.loader import load_catalog

# The activity fact, as the registry names it ({activity}: ``Registry.activity.model``).
FACT_DDL = [
    "create table {activity} (client_id varchar not null, activity_date date not null, "
    "user_id varchar not null, device_id varchar not null, chrome_activity_count bigint, "
    "edge_activity_count bigint, firefox_activity_count bigint, desktop_activity_count bigint, "
    "web_accessibility_activity_count bigint, total_activity_count bigint, heartbeat_count bigint)",
    "create index fct_user_day on {activity} (client_id, user_id, activity_date)",
    "create index fct_device_day on {activity} (client_id, device_id, activity_date)",
]
# rows spread over 20 tenants, 5,000 users, 6,000 devices and a year of days
FILL = (
    "insert into {activity} select 'c-' || (i % 20), date '2025-01-01' + {day}, "
    "'u-' || (i % 5000), 'd-' || (i % 6000), 1, 2, 3, 4, 5, 15, 3 from {series}"
)


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def compile_figures() -> list[tuple[str, str, str]]:
    """(measure, median, p95) for load, cold compile, cached lookup and parameter binding."""
    loads = _timed(load_catalog, 5)
    keys = [
        (metric.name, entity, granularity, dialect)
        for metric in load_catalog().metrics.values()
        for entity, granularity, dialect in product(metric.entities, GRANULARITIES, DIALECTS)
    ]
    fresh: Catalog = load_catalog()
    cpu_start = time.process_time()
    cold = [
        _timed(
            lambda k=key: fresh.compile(metric=k[0], entity=k[1], granularity=k[2], dialect=k[3]), 1
        )[0]
        for key in keys
    ]
    cold_cpu = (time.process_time() - cpu_start) / len(keys)
    warm = _timed(
        lambda: fresh.compile(
            metric="user-count", entity="device", granularity="weekly", dialect="postgres"
        ),
        20_000,
    )
    query = fresh.compile(
        metric="user-count", entity="device", granularity="weekly", dialect="postgres"
    )
    bind = _timed(
        lambda: query.parameters(
            tenant_id="c", entity_id="d", start_date=date(2026, 1, 1), end_date=date(2026, 3, 31)
        ),
        20_000,
    )

    def row(name: str, values: list[float]) -> tuple[str, str, str]:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return name, _fmt(statistics.median(values)), _fmt(p95)

    return [
        row("load + validate semantic/ (8 metrics)", loads),
        row(f"cold compile, one key ({len(keys)} keys, all dialects)", cold),
        ("cold compile, CPU time per key (mean; steady on a loaded box)", _fmt(cold_cpu), "-"),
        row("cached compile lookup", warm),
        row("parameters() bind", bind),
    ]


def execution_figures(rows: int, postgres_url: str | None) -> list[tuple[str, str, str]]:
    """Median/p95 latency of cached queries on a ``rows``-row indexed fact."""
    import duckdb

    catalog = load_catalog()
    activity = catalog.registry.activity.model
    results = []
    requests = [
        ("activity-count", "user", "u-7", "daily"),
        ("user-count", "device", "d-7", "weekly"),
    ]

    def measure(con, dialect: str, label: str) -> None:
        for metric, entity, entity_id, granularity in requests:
            query = catalog.compile(
                metric=metric, entity=entity, granularity=granularity, dialect=dialect
            )
            params = query.parameters(
                tenant_id="c-7",
                entity_id=entity_id,
                start_date=date(2025, 3, 1),
                end_date=date(2025, 5, 29),
            )
            times = _timed(lambda q=query, p=params: con.execute(q.sql, p).fetchall(), 30)
            ordered = sorted(times)
            results.append(
                (
                    f"{label}: {metric} per {entity}, {granularity}, 90 days",
                    _fmt(statistics.median(times)),
                    _fmt(ordered[int(len(ordered) * 0.95)]),
                )
            )

    con = duckdb.connect()
    for statement in FACT_DDL:
        con.execute(statement.format(activity=activity))
    con.execute(
        FILL.format(activity=activity, day="(i % 365)::int", series=f"range({rows}) as t(i)")
    )
    measure(con, "duckdb", f"DuckDB {rows:,} rows")
    con.close()

    if postgres_url:
        import psycopg

        from daybook.config import parse_database_url

        admin = parse_database_url(postgres_url)
        name = f"daybook_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin.pg_conninfo, autocommit=True) as admin_con:
            admin_con.execute(f'create database "{name}"')
        try:
            target = parse_database_url(
                f"postgresql://{admin.user}@{admin.host}:{admin.port}/{name}"
            )
            with psycopg.connect(target.pg_conninfo, autocommit=True) as pg:
                for statement in FACT_DDL:
                    pg.execute(statement.format(activity=activity))
                series = f"generate_series(1, {rows}) as i"
                pg.execute(FILL.format(activity=activity, day="(i % 365)", series=series))
                pg.execute(f"analyze {activity}")
                measure(pg, "postgres", f"PostgreSQL {rows:,} rows")
        finally:
            with psycopg.connect(admin.pg_conninfo, autocommit=True) as admin_con:
                admin_con.execute(f'drop database if exists "{name}" with (force)')
    return results


@click.command()
@click.option(
    "--rows", type=int, default=0, help="Also time execution on a fact of this many rows."
)
@click.option(
    "--postgres",
    "postgres_url",
    default=None,
    help="Admin URL of a PostgreSQL server to time execution on too (a scratch database is used).",
)
def main(rows: int, postgres_url: str | None) -> None:
    """Print the semantic layer's figures as a Markdown table."""
    figures = compile_figures()
    if rows:
        figures += execution_figures(rows, postgres_url)
    click.echo("| measure | median | p95 |\n|---|---|---|")
    for name, median, p95 in figures:
        click.echo(f"| {name} | {median} | {p95} |")


if __name__ == "__main__":
    main()
