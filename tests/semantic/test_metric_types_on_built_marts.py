"""dbt's metric types on the session's dbt-built sample warehouse equal the reference.

The marts here are the real ones (local days computed by dbt in each client's time zone,
``dim_devices.platform`` as generated), on DuckDB and PostgreSQL; the reference starts
from the raw rows (``samples``: tests/reference.py's validation and local days, then
tests/reference_metrics.py). A sweep over every metric of the test YAML, entity and
grain, on ranges across the autumn and spring DST changes of 2025/2026 (weeks of 26 Oct,
2 Nov, 8 and 29 Mar: the week buckets still hold seven local days) and on random ranges
around active days, whose windows and offsets read days before ``start_date``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from reference_metrics import MetricReference

from daybook.semantic.metric_sql import ManifestView, compile_metric
from daybook.warehouse import connection
from semantic.metric_types import (
    DEVICES,
    ENTITIES,
    FACT,
    GRANULARITIES,
    SPEC,
    parse_manifest,
    same_value,
)

DST_RANGES = (
    (date(2025, 10, 20), date(2025, 11, 9)),
    (date(2026, 3, 2), date(2026, 4, 5)),
    (date(2026, 3, 26), date(2026, 4, 1)),
)


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> ManifestView:
    return ManifestView.from_json(parse_manifest(tmp_path_factory.mktemp("built_types")))


def reference_tables(sample) -> dict[str, list[dict]]:
    """The fact and the device dimension as the reference derives them from raw rows."""
    fact = [
        {"client_id": client, "activity_date": day, "user_id": user, "device_id": device, **values}
        for (client, day, user, device), values in sample.reference.activity.items()
    ]
    devices = [
        {key: row[key] for key in ("device_id", "client_id", "platform")}
        for row in sample.raw["devices"]
    ]
    return {FACT: fact, DEVICES: devices}


def test_every_metric_type_on_the_built_marts_equals_the_reference(
    built, samples, backend: str, view: ManifestView
) -> None:
    sample = samples[backend]
    reference = MetricReference(SPEC, reference_tables(sample))
    cells = sorted(sample.reference.activity)  # (client, day, user, device)
    assert cells, "the sample warehouse has no valid activity"
    chooser = random.Random(16)
    checked = valued = 0
    with connection(built.warehouse, read_only=True) as con:
        for metric in sorted(m["name"] for m in SPEC["metrics"]):
            for entity in ENTITIES:
                for granularity in GRANULARITIES:
                    client, day, user, device = chooser.choice(cells)
                    if chooser.random() < 0.5:
                        start, end = chooser.choice(DST_RANGES)
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
    assert checked == len(SPEC["metrics"]) * len(ENTITIES) * len(GRANULARITIES)
    assert valued > checked, "too few buckets with activity to tell anything apart"
