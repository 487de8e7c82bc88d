"""A simple metric whose semantic model names only the ``user`` entity is still scoped to
one client: the one compiler (``metric_sql``) filters it by the registry's tenant key.

dbt lets a semantic model leave out the ``client`` entity; the catalogue then serves its
metrics per user only (not client-wide), and the registry (``semantic/entities.yml``)
says every user row carries ``client_id``. Another client's rows for the same user id
must not count, in either query shape. The expected values are summed here in Python.
"""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest
from support import SHIPPED_SEMANTIC_DIR

from daybook.semantic import Catalog, SemanticError, load_catalog
from semantic.marts import fact_row, replace_fact_rows

USER_ONLY = """
semantic_models:
  - name: user_only
    model: ref('fct_activity_daily')
    primary_entity: user_only_row
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: user, type: foreign, expr: user_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: user_only_heartbeats, agg: sum, expr: heartbeat_count}
      - {name: user_only_peak, agg: max, expr: heartbeat_count}
metrics:
  - name: user_heartbeats
    label: User Heartbeats
    description: Heartbeats, per user only.
    type: simple
    type_params: {measure: user_only_heartbeats}
  - name: user_peak_heartbeats
    label: User Peak Heartbeats
    description: Most heartbeats of one device-day, per user only.
    type: simple
    type_params: {measure: user_only_peak}
"""
ROWS = [
    fact_row("c-1", date(2026, 1, 5), "u-1", "d-1", (1, 0, 0, 0, 0), 3),
    fact_row("c-1", date(2026, 1, 6), "u-1", "d-2", (0, 1, 0, 0, 0), 4),
    fact_row("c-1", date(2026, 1, 20), "u-1", "d-1", (0, 0, 1, 0, 0), 5),
    fact_row("c-2", date(2026, 1, 6), "u-1", "d-9", (0, 0, 0, 1, 0), 100),  # same user id
    fact_row("c-1", date(2026, 1, 7), "u-2", "d-1", (0, 0, 0, 0, 1), 50),  # another user
]
START, END = date(2026, 1, 5), date(2026, 1, 25)
# weekly buckets of 2026-01-05..25 (ISO weeks start 5, 12, 19 January)
WEEKS = [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]


def _expected(metric: str) -> list[tuple[date, int]]:
    """u-1 of c-1 per week from ``ROWS``, 0 where the user had no row."""
    combine = {"user-heartbeats": sum, "user-peak-heartbeats": max}[metric]
    found: dict[date, list[int]] = {week: [] for week in WEEKS}
    for client_id, day, user_id, *_, heartbeats in ROWS:
        if client_id == "c-1" and user_id == "u-1" and START <= day <= END:
            found[max(w for w in WEEKS if w <= day)].append(heartbeats)
    return [(week, combine(values) if values else 0) for week, values in found.items()]


@pytest.fixture(scope="module")
def user_only(tmp_path_factory: pytest.TempPathFactory, manifest_path: Path) -> Catalog:
    folder = tmp_path_factory.mktemp("user_only") / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    (folder / "user_only.yml").write_text(textwrap.dedent(USER_ONLY), encoding="utf-8")
    return load_catalog(folder, manifest_path=manifest_path)


@pytest.mark.parametrize("metric", ["user-heartbeats", "user-peak-heartbeats"])
@pytest.mark.parametrize("shape", ["series", "buckets"])
def test_a_user_only_metric_counts_only_the_clients_rows(
    duckdb_marts, user_only: Catalog, metric: str, shape: str
) -> None:
    assert user_only.metrics[metric].entities == ("user",)
    replace_fact_rows(duckdb_marts, ROWS, backend="duckdb")
    query = user_only.compile(
        metric=metric, entity="user", granularity="weekly", dialect="duckdb", shape=shape
    )
    assert "f.client_id = $tenant_id" in query.sql  # the registry's tenant key
    params = query.parameters(tenant_id="c-1", entity_id="u-1", start_date=START, end_date=END)
    rows = [tuple(row) for row in duckdb_marts.execute(query.sql, params).fetchall()]
    got = query.fill(rows, START, END)
    assert got == _expected(metric)
    assert all(type(value) is int for _, value in got)


def test_a_user_only_metric_is_not_served_client_wide(user_only: Catalog) -> None:
    with pytest.raises(SemanticError, match="not defined for entity client"):
        user_only.compile(
            metric="user-heartbeats", entity="client", granularity="daily", dialect="duckdb"
        )
