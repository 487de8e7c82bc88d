"""Dates at the edges of the calendar (0001-01-01, 9999-12-31): 200 with the right buckets or
400, never 500, on every granularity and every endpoint taking a range, on both backends."""

from __future__ import annotations

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_DEVICE, EXAMPLE_USER, activity_path

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")

# (start, end, granularity) -> bucket starts, written out by hand from the calendar:
# 9999-12-27 and 0001-01-01 are Mondays; 9999-10-03..9999-12-31 is 90 days.
EXPECTED = {
    ("9999-12-31", "9999-12-31", "daily"): ["9999-12-31"],
    ("9999-12-31", "9999-12-31", "weekly"): ["9999-12-27"],
    ("9999-12-31", "9999-12-31", "monthly"): ["9999-12-01"],
    ("9999-12-31", "9999-12-31", "quarterly"): ["9999-10-01"],
    ("9999-12-27", "9999-12-31", "weekly"): ["9999-12-27"],
    ("9999-12-01", "9999-12-31", "monthly"): ["9999-12-01"],
    ("9999-10-03", "9999-12-31", "monthly"): ["9999-10-01", "9999-11-01", "9999-12-01"],
    ("9999-10-03", "9999-12-31", "quarterly"): ["9999-10-01"],
    ("9999-12-20", "9999-12-31", "weekly"): ["9999-12-20", "9999-12-27"],
    ("9999-12-29", "9999-12-31", "daily"): ["9999-12-29", "9999-12-30", "9999-12-31"],
    ("0001-01-01", "0001-01-01", "daily"): ["0001-01-01"],
    ("0001-01-01", "0001-01-01", "weekly"): ["0001-01-01"],
    ("0001-01-01", "0001-01-01", "monthly"): ["0001-01-01"],
    ("0001-01-01", "0001-01-01", "quarterly"): ["0001-01-01"],
    ("0001-01-01", "0001-03-31", "quarterly"): ["0001-01-01"],
    ("0001-01-01", "0001-01-09", "weekly"): ["0001-01-01", "0001-01-08"],
    ("0001-01-01", "0001-03-31", "monthly"): ["0001-01-01", "0001-02-01", "0001-03-01"],
}


@pytest.mark.parametrize("entity", ["user", "device"])
@pytest.mark.parametrize(("start", "end", "granularity"), sorted(EXPECTED))
def test_activity_at_the_edges_of_the_calendar_is_zero_filled(api, entity, start, end, granularity):
    entity_id = EXAMPLE_USER if entity == "user" else EXAMPLE_DEVICE
    metrics = ["activity-count"] + (["user-count"] if entity == "device" else [])
    for metric in metrics:
        response = api.get(
            activity_path(EXAMPLE_CLIENT, entity, entity_id),
            api.token(),
            {"metric": metric, "start_date": start, "end_date": end, "granularity": granularity},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["period"] == {"start": start, "end": end}
        assert body["data"] == [
            {"date": day, "value": 0} for day in EXPECTED[(start, end, granularity)]
        ]


@pytest.mark.parametrize("entity", ["user", "device"])
@pytest.mark.parametrize(
    ("start", "end"), [("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01")]
)
def test_rankings_at_the_edges_of_the_calendar_are_empty(api, entity, start, end):
    response = api.get(
        f"/v2/clients/{EXAMPLE_CLIENT}/analytics/top-{entity}s",
        api.token(),
        {"start_date": start, "end_date": end},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-31", "10000-01-01"),  # not a date this API can read: 400
        ("0000-12-31", "0001-01-01"),
        ("9999-12-31", "9999-12-30"),  # start after end
        ("0001-01-01", "9999-12-31"),  # over the range limit
    ],
)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_out_of_calendar_or_reversed_edges_are_400(api, start, end, granularity):
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        api.token(),
        {
            "metric": "activity-count",
            "start_date": start,
            "end_date": end,
            "granularity": granularity,
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_parameter"
