"""Served answers equal the independent computation over the raw rows, in the documented shape."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reference import GRANULARITIES, computes
from served_api import (
    DATA_END,
    DATA_START,
    EXAMPLE_CLIENT,
    EXAMPLE_DEVICE,
    EXAMPLE_USER,
    activity_path,
    expected_body,
)

from daybook.semantic import load_catalog


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
def test_random_requests_match_the_reference(api, entity, rng):
    catalog = load_catalog()
    metrics = [m.name for m in catalog.metrics_for(entity) if computes(m.name)]
    candidates = api.active_entities(entity)
    token = api.token()
    for _ in range(12):
        client, entity_id = rng.choice(candidates)
        metric = rng.choice(metrics)
        granularity = rng.choice(GRANULARITIES)
        start = DATA_START + timedelta(days=rng.randint(-20, 181))
        end = start + timedelta(days=rng.randint(0, 89))
        params = {"metric": metric, "start_date": start.isoformat(), "end_date": end.isoformat()}
        if granularity != "daily" or rng.random() < 0.5:
            params["granularity"] = granularity
        response = api.get(activity_path(client, entity, entity_id), token, params=params)
        assert response.status_code == 200, (params, response.text)
        expected = expected_body(api, entity, client, entity_id, metric, start, end, granularity)
        assert response.json() == expected, params


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_every_granularity_buckets_partial_periods_by_their_first_day(api, granularity):
    """Weekly from Thursday 2026-01-01 starts with Monday 2025-12-29 (contract section 4)."""
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        api.token(),
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
        api, "user", EXAMPLE_CLIENT, EXAMPLE_USER, "activity-count", start, end, granularity
    )


def test_days_after_the_data_are_zero_filled(api):
    start = DATA_END + timedelta(days=30)
    end = start + timedelta(days=9)
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE),
        api.token(),
        params={"metric": "user-count", "start_date": str(start), "end_date": str(end)},
    )
    assert response.status_code == 200, response.text
    assert [point["value"] for point in response.json()["data"]] == [0] * 10


def test_a_single_day_range_has_one_point(api):
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        api.token(),
        params={"metric": "activity-count", "start_date": "2026-01-06", "end_date": "2026-01-06"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


def test_uppercase_ids_are_the_same_ids(api):
    """UUIDs are case-insensitive; the warehouse stores them lowercase."""
    params = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}
    lower = api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params)
    upper = api.get(
        activity_path(EXAMPLE_CLIENT.upper(), "user", EXAMPLE_USER.upper()),
        api.token(EXAMPLE_CLIENT),
        params=params,
    )
    assert upper.status_code == lower.status_code == 200
    assert upper.json() == lower.json()


def test_extra_query_parameters_are_ignored(api):
    params = {
        "metric": "activity-count",
        "start_date": "2026-01-01",
        "end_date": "2026-01-03",
        "utm_source": "x",
    }
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    assert response.status_code == 200, response.text
