"""End to end: the shipped metrics, compiled against the real dbt marts, equal the reference.

Uses the session's generated-loaded-built sample warehouse (``built``) on both
backends, and checks the catalogue against that build's own ``manifest.json``.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from reference import GRANULARITIES, Reference, client_series, compute, computes, series
from support import SHIPPED_SEMANTIC_DIR

from daybook.build import manifest_path
from daybook.semantic import Catalog, load_catalog
from daybook.warehouse import connection


@pytest.fixture
def built_catalog(built) -> Catalog:
    return load_catalog(SHIPPED_SEMANTIC_DIR, manifest_path=manifest_path(built.warehouse))


@pytest.fixture
def built_reference(built) -> Reference:
    return compute(
        *(built.raw_rows(table) for table in ("clients", "users", "devices", "heartbeats"))
    )


def test_every_shipped_metric_on_the_built_marts_equals_the_reference(
    built, built_catalog: Catalog, built_reference: Reference
) -> None:
    chooser = random.Random(20260101)
    cells = sorted(built_reference.activity)  # (client, day, user, device)
    assert cells, "the sample warehouse has no valid activity"
    # the metrics the plain reference computes (dbt's other types: test_metric_types_*)
    served = [m for m in built_catalog.metrics.values() if computes(m.name)]
    checked = 0
    with connection(built.warehouse, read_only=True) as con:
        for metric in served:
            for entity in metric.entities:
                for granularity in GRANULARITIES:
                    client, day, user, device = chooser.choice(cells)
                    start = day - timedelta(days=chooser.randint(0, 45))
                    end = start + timedelta(days=chooser.randint(0, 89))
                    entity_id = {"user": user, "device": device, "client": client}[entity]
                    query = built_catalog.compile(
                        metric=metric.name,
                        entity=entity,
                        granularity=granularity,
                        dialect=built.warehouse.dialect,
                    )
                    params = query.parameters(
                        tenant_id=client, entity_id=entity_id, start_date=start, end_date=end
                    )
                    cursor = con.cursor()
                    cursor.execute(query.sql, params)
                    got = [tuple(row) for row in cursor.fetchall()]
                    if entity == "client":
                        expected = client_series(
                            built_reference,
                            client_id=client,
                            metric=metric.name,
                            start=start,
                            end=end,
                            granularity=granularity,
                        )
                    else:
                        expected = series(
                            built_reference,
                            entity=entity,
                            client_id=client,
                            entity_id=entity_id,
                            metric=metric.name,
                            start=start,
                            end=end,
                            granularity=granularity,
                        )
                    assert got == expected, (metric.name, entity, granularity, start, end)
                    checked += 1
    assert checked == 4 * sum(len(m.entities) for m in served)
