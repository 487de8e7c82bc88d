"""The chart's axes and words (issue 12): ticks on bucket starts, whole-number ticks for counts,
a summary true for the metric shown, sparkline cards naming the metric they draw.

The page records the ticks uPlot renders on ``#chart`` (``data-x-ticks``,
``data-y-ticks``); expected bucket dates come from the calendar
(``expected_buckets``), values from ``tests/reference.py``.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from browser_pages import END, START, DaybookPage, busiest, expected_buckets
from reference import series
from served_api import activity_path

pytestmark = pytest.mark.browser


def _ticks(page: DaybookPage) -> tuple[list[str], list[float]]:
    chart = page.page.query_selector("#chart")
    return (
        json.loads(chart.get_attribute("data-x-ticks")),
        json.loads(chart.get_attribute("data-y-ticks")),
    )


@pytest.mark.parametrize("granularity", ["daily", "weekly", "monthly", "quarterly"])
def test_x_ticks_sit_on_bucket_starts_and_y_ticks_are_whole(page, served, granularity):
    client_id, device_id = busiest(served, "device", START, END)
    page.choose(client_id, "device", device_id)
    page.set_query(metric="user-count", granularity=granularity, start=START, end=END)
    assert page.show() == "drawn"

    buckets = [day.isoformat() for day in expected_buckets(START, END, granularity)]
    xs, ys = _ticks(page)
    assert xs and set(xs) <= set(buckets), (xs, buckets)
    if granularity != "daily":  # few buckets: every one gets its tick
        assert xs == buckets
    assert ys and all(float(y).is_integer() for y in ys), ys
    assert page.errors == []


def test_summary_gives_peak_and_average_not_a_sum_of_distinct_counts(page, served):
    client_id, device_id = busiest(served, "device", START, END)
    page.choose(client_id, "device", device_id)
    page.set_query(metric="user-count", granularity="weekly", start=START, end=END)
    assert page.show() == "drawn"

    expected = series(
        served.reference,
        entity="device",
        client_id=client_id,
        entity_id=device_id,
        metric="user-count",
        start=START,
        end=END,
        granularity="weekly",
    )
    values = [value for _, value in expected]
    peak_day = next(day for day, value in expected if value == max(values))
    average = round(sum(values) / len(values), 1)
    text = page.page.inner_text("#chart-summary")
    assert "total" not in text
    assert f"peak {max(values)} ({peak_day.isoformat()})" in text
    assert f"average {average:g} per week" in text


def test_sparkline_cards_name_the_metric_they_draw(page, served):
    client_id, device_id = busiest(served, "device", START, END)
    page.choose(client_id, "device", device_id)
    page.set_query(metric="user-count", granularity="monthly", start=START, end=END)
    assert page.show() == "drawn"
    page.wait_for_sparklines()

    cards = page.sparkline_cards()
    assert cards
    for entity_id, title in cards:
        assert "Total activity" not in title
        expected = series(
            served.reference,
            entity="device",
            client_id=client_id,
            entity_id=entity_id,
            metric="user-count",
            start=START,
            end=END,
            granularity="monthly",
        )
        peak = max(value for _, value in expected)
        assert title.startswith("Daily Users: peak "), title
        assert f"peak {peak} (" in title


def test_ticks_cover_a_range_starting_mid_week(page, served):
    # Thursday start: the first weekly bucket is the Monday before, and it is labelled
    start, end = date(2026, 1, 1), date(2026, 2, 15)
    client_id, user_id = busiest(served, "user", start, end)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="weekly", start=start, end=end)
    assert page.show() == "drawn"
    xs, _ = _ticks(page)
    assert xs[0] == "2025-12-29"
    assert all(date.fromisoformat(x).weekday() == 0 for x in xs)


def _api_values(served, client_id: str, user_id: str, metric: str, granularity: str) -> list:
    """The values the API answers for one user's series over START..END, nulls left out."""
    answer = served.get(
        activity_path(client_id, "user", user_id),
        served.token(),
        params={
            "metric": metric,
            "granularity": granularity,
            "start_date": START,
            "end_date": END,
        },
    )
    assert answer.status_code == 200, answer.text
    return [point["value"] for point in answer.json()["data"] if point["value"] is not None]


def test_the_y_axis_reaches_below_zero_for_a_change_metric(page, served):
    # A change against the previous week is negative where activity fell: the axis and
    # each sparkline's range hold the API's minimum and maximum, with 0 still in view.
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-wow-change", granularity="daily", start=START, end=END)
    assert page.show() == "drawn"

    values = _api_values(served, client_id, user_id, "activity-wow-change", "daily")
    assert min(values) < 0 < max(values)  # the case this test is about
    low, high = page.page.evaluate(
        "() => [window.daybook.state.chart.scales.y.min, window.daybook.state.chart.scales.y.max]"
    )
    assert low <= min(values) and max(values) <= high, (low, high, min(values), max(values))
    _, ys = _ticks(page)
    assert min(ys) < 0 <= max(ys), ys

    page.wait_for_sparklines()
    ranges = page.page.evaluate(
        """() => window.daybook.state.sparks.map(
               u => [u.root.closest('.sparkline').dataset.id, u.scales.y.min, u.scales.y.max])"""
    )
    assert ranges
    below_zero = 0
    for entity_id, low, high in ranges:
        card = _api_values(served, client_id, entity_id, "activity-wow-change", "daily")
        if not card:
            continue
        below_zero += min(card) < 0
        assert low <= min(min(card), 0) and max(max(card), 0) <= high, (entity_id, low, high)
    assert below_zero  # at least one card has negative values to hold
    assert page.errors == []


def _shown_peaks(text: str) -> list[str]:
    return re.findall(r"peak (-?[0-9.e+-]+) \(", text)


def test_a_fractional_peak_is_rounded_for_display(page, served):
    # Activity per active day, weekly: ratios with long fractions ("peak 5.144620811287478").
    metric = "activity-per-active-day"
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric=metric, granularity="weekly", start=START, end=END)
    assert page.show() == "drawn"

    def check(shown: list[str], values: list) -> None:
        peak = max(values)
        assert len(shown) == 1, shown
        if float(peak).is_integer():
            assert float(shown[0]) == peak
        else:
            assert abs(float(shown[0]) - peak) <= 0.005, (shown, peak)
            assert len(shown[0].partition(".")[2]) <= 2, shown

    values = _api_values(served, client_id, user_id, metric, "weekly")
    assert not float(max(values)).is_integer()  # the case this test is about
    check(_shown_peaks(page.page.inner_text("#chart-summary")), values)
    assert float(page.page.get_attribute("#chart-summary", "data-peak")) == max(values)

    page.wait_for_sparklines()
    cards = page.sparkline_cards()
    assert cards
    for entity_id, title in cards:
        check(_shown_peaks(title), _api_values(served, client_id, entity_id, metric, "weekly"))
    assert page.errors == []
