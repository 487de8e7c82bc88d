"""Served answers equal the independent computation over the raw rows, in the documented shape."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reference import GRANULARITIES, series
from served_api import EXAMPLE_CLIENT, EXAMPLE_DEVICE, EXAMPLE_USER, activity_path

from daybook.semantic import load_catalog

DATA_START = date(2025, 10, 1)  # the generator's default window: 182 days from here
DATA_END = DATA_START + timedelta(days=181)


def expected_body(served, entity, client, entity_id, metric, start, end, granularity):
    points = series(
        served.reference,
        entity=entity,
        client_id=client,
        entity_id=entity_id,
        metric=metric,
        start=start,
        end=end,
        granularity=granularity,
    )
    return {
        "metric": metric,
        "label": load_catalog().metrics[metric].label,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "data": [{"date": day.isoformat(), "value": value} for day, value in points],
    }


@pytest.mark.parametrize(
    "entity,entity_id,metric",
    [
        ("user", EXAMPLE_USER, "activity-count"),
        ("device", EXAMPLE_DEVICE, "activity-count"),
        ("device", EXAMPLE_DEVICE, "user-count"),
    ],
)
def test_the_documented_example_requests_are_answered_daily(served, entity, entity_id, metric):
    """The endpoint documents' curl examples carry no granularity: the answer is daily."""
    response = served.get(
        activity_path(EXAMPLE_CLIENT, entity, entity_id),
        served.token(EXAMPLE_CLIENT),
        params={"start_date": "2026-01-01", "end_date": "2026-01-15", "metric": metric},
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["metric", "label", "period", "data"]
    assert [point["date"] for point in body["data"]] == [
        f"2026-01-{day:02d}" for day in range(1, 16)
    ]
    expected = expected_body(
        served,
        entity,
        EXAMPLE_CLIENT,
        entity_id,
        metric,
        date(2026, 1, 1),
        date(2026, 1, 15),
        "daily",
    )
    assert body == expected
    assert any(point["value"] > 0 for point in body["data"]), "the example ids have activity"


@pytest.mark.parametrize("entity", ["user", "device"])
def test_random_requests_match_the_reference(served, entity, rng):
    catalog = load_catalog()
    metrics = [metric.name for metric in catalog.metrics_for(entity)]
    candidates = served.active_entities(entity)
    token = served.token()
    for _ in range(12):
        client, entity_id = rng.choice(candidates)
        metric = rng.choice(metrics)
        granularity = rng.choice(GRANULARITIES)
        start = DATA_START + timedelta(days=rng.randint(-20, 181))
        end = start + timedelta(days=rng.randint(0, 89))
        params = {"metric": metric, "start_date": start.isoformat(), "end_date": end.isoformat()}
        if granularity != "daily" or rng.random() < 0.5:
            params["granularity"] = granularity
        response = served.get(activity_path(client, entity, entity_id), token, params=params)
        assert response.status_code == 200, (params, response.text)
        expected = expected_body(served, entity, client, entity_id, metric, start, end, granularity)
        assert response.json() == expected, params


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_every_granularity_buckets_partial_periods_by_their_first_day(served, granularity):
    """Weekly from Thursday 2026-01-01 starts with Monday 2025-12-29 (contract section 4)."""
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    response = served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        served.token(),
        params={
            "metric": "activity-count",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "granularity": granularity,
        },
    )
    assert response.status_code == 200, response.text
    first = {
        "daily": "2026-01-01",
        "weekly": "2025-12-29",
        "monthly": "2026-01-01",
        "quarterly": "2026-01-01",
    }[granularity]
    count = {"daily": 90, "weekly": 14, "monthly": 3, "quarterly": 1}[granularity]
    data = response.json()["data"]
    assert data[0]["date"] == first
    assert len(data) == count
    assert response.json() == expected_body(
        served, "user", EXAMPLE_CLIENT, EXAMPLE_USER, "activity-count", start, end, granularity
    )


def test_days_after_the_data_are_zero_filled(served):
    start = DATA_END + timedelta(days=30)
    end = start + timedelta(days=9)
    response = served.get(
        activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE),
        served.token(),
        params={"metric": "user-count", "start_date": str(start), "end_date": str(end)},
    )
    assert response.status_code == 200, response.text
    assert [point["value"] for point in response.json()["data"]] == [0] * 10


def test_a_single_day_range_has_one_point(served):
    response = served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        served.token(),
        params={"metric": "activity-count", "start_date": "2026-01-06", "end_date": "2026-01-06"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


def test_uppercase_ids_are_the_same_ids(served):
    """UUIDs are case-insensitive; the warehouse stores them lowercase."""
    params = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}
    lower = served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), served.token(), params=params
    )
    upper = served.get(
        activity_path(EXAMPLE_CLIENT.upper(), "user", EXAMPLE_USER.upper()),
        served.token(EXAMPLE_CLIENT),
        params=params,
    )
    assert upper.status_code == lower.status_code == 200
    assert upper.json() == lower.json()


def test_extra_query_parameters_are_ignored(served):
    params = {
        "metric": "activity-count",
        "start_date": "2026-01-01",
        "end_date": "2026-01-03",
        "utm_source": "x",
    }
    response = served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), served.token(), params=params
    )
    assert response.status_code == 200, response.text
