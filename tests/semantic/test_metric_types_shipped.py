"""Every shipped metric (``semantic/``), compiled by ``compile_metric`` from the semantic
manifest dbt parses, on the session's dbt-built sample warehouse, equals the reference.

The shipped YAML is read twice, independently: by dbt (``dbt parse`` in a stub project,
its ``semantic_manifest.json`` for the compiler) and as plain YAML by
``tests/reference_metrics.py``. Each metric is checked for every entity its semantic
models have and every grain, on DuckDB and PostgreSQL, on ranges across the DST weeks
and random ranges around active days.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from reference_metrics import MetricReference

from daybook.semantic.metric_sql import ManifestView, compile_metric, metric_entities
from daybook.warehouse import connection
from semantic.metric_types import (
    DEVICES,
    FACT,
    GRANULARITIES,
    parse_shipped,
    same_value,
    shipped_spec,
)

RANGES = ((date(2025, 10, 20), date(2025, 11, 9)), (date(2026, 3, 2), date(2026, 4, 5)))


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[ManifestView, dict]:
    view = ManifestView.from_json(parse_shipped(tmp_path_factory.mktemp("shipped")))
    return view, shipped_spec()


def test_every_shipped_metric_on_the_built_marts_equals_the_reference(
    built, samples, backend: str, shipped
) -> None:
    view, spec = shipped
    sample = samples[backend]
    fact = [
        {"client_id": c, "activity_date": d, "user_id": u, "device_id": v, **values}
        for (c, d, u, v), values in sample.reference.activity.items()
    ]
    devices = [
        {k: row[k] for k in ("device_id", "client_id", "platform")} for row in sample.raw["devices"]
    ]
    reference = MetricReference(spec, {FACT: fact, DEVICES: devices})
    cells = sorted(sample.reference.activity)
    chooser = random.Random(1616)
    checked = valued = 0
    with connection(built.warehouse, read_only=True) as con:
        for metric in [m["name"] for m in spec["metrics"]]:
            entities = metric_entities(view, metric)
            assert "client" in entities, metric
            for entity in entities:
                for granularity in GRANULARITIES:
                    client, day, user, device = chooser.choice(cells)
                    if chooser.random() < 0.4:
                        start, end = chooser.choice(RANGES)
                    else:
                        start = day - timedelta(days=chooser.randint(0, 45))
                        end = start + timedelta(days=chooser.randint(0, 89))
                    entity_id = {"user": user, "device": device}.get(entity)
                    query = compile_metric(view, metric, entity, granularity, backend)
                    params = query.parameters(
                        tenant_id=client, entity_id=entity_id, start_date=start, end_date=end
                    )
                    cursor = con.cursor()
                    cursor.execute(query.sql, params)
                    got = query.fill([tuple(row) for row in cursor.fetchall()], start, end)
                    expected = reference.series(
                        metric=metric,
                        entity=entity,
                        tenant_id=client,
                        entity_id=entity_id,
                        start=start,
                        end=end,
                        granularity=granularity,
                    )
                    where = (metric, entity, granularity, client, entity_id, start, end)
                    assert [b for b, _ in got] == [b for b, _ in expected], where
                    pairs = zip(got, expected, strict=True)
                    wrong = [(b, g, e) for (b, g), (_, e) in pairs if not same_value(g, e)]
                    assert not wrong, (where, wrong)
                    checked += 1
                    valued += sum(1 for _, value in expected if value not in (0, None))
    assert checked >= 4 * len(spec["metrics"])
    assert valued > checked, "too few buckets with activity to tell anything apart"
