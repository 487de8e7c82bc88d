"""The activity page in a real browser (Debian's Chromium), against the served API, both backends.

Expected values come from outside the app: bucket dates from the calendar
(``expected_buckets``), series values from ``tests/reference.py`` over the raw
rows, error texts from the API's own answer to the same request.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from browser_pages import END, START, DaybookPage, busiest, expected_buckets
from reference import series

from daybook.semantic import load_catalog

pytestmark = pytest.mark.browser

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")


def epoch_seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def test_page_loads_the_tokens_clients_and_the_catalogue_metrics(page, served):
    clients = page.options("#client")
    assert sorted(value for value, _ in clients) == sorted(
        row["client_id"] for row in served.clients
    )
    names = {row["client_id"]: row["name"] for row in served.clients}
    assert all(text.startswith(names[value]) for value, text in clients)

    catalog = load_catalog()
    for entity in ("user", "device"):
        page.page.check(f"input[name=entity][value={entity}]")
        shown = [value for value, _ in page.options("#metric")]
        assert shown == [metric.name for metric in catalog.metrics_for(entity)]

    # The token was taken from the fragment, kept in this browser, and removed from the URL.
    assert "token" not in page.page.url
    stored = page.page.evaluate("() => localStorage.getItem('daybook.token')")
    assert stored == served.token()
    assert page.errors == []


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_a_users_series_has_one_point_per_bucket(page, served, granularity):
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity=granularity, start=START, end=END)

    assert page.show() == "drawn"

    buckets = expected_buckets(START, END, granularity)
    expected = series(
        served.reference,
        entity="user",
        client_id=client_id,
        entity_id=user_id,
        metric="activity-count",
        start=START,
        end=END,
        granularity=granularity,
    )
    xs, values = page.chart_data()
    assert len(xs) == len(buckets)
    assert xs == [epoch_seconds(day) for day in buckets]
    assert values == [value for _, value in expected]
    assert page.page.get_attribute("#chart", "data-points") == str(len(buckets))
    rows = page.table_rows()
    assert [row[0] for row in rows] == [day.isoformat() for day in buckets]
    assert [int(row[1]) for row in rows] == [value for _, value in expected]
    assert page.errors == []


def test_a_devices_daily_users_series_matches_the_reference(page, served):
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
    _, values = page.chart_data()
    assert values == [value for _, value in expected]
    assert page.chart_series_labels()[1] == "Daily Users"


def test_compare_overlays_the_previous_period_of_the_same_length(page, served):
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="daily", start=START, end=END, compare=True)

    assert page.show() == "drawn"

    length = (END - START).days + 1
    previous_end = START - timedelta(days=1)
    previous_start = previous_end - timedelta(days=length - 1)
    previous = series(
        served.reference,
        entity="user",
        client_id=client_id,
        entity_id=user_id,
        metric="activity-count",
        start=previous_start,
        end=previous_end,
        granularity="daily",
    )
    xs, _current, overlay = page.chart_data()
    assert len(overlay) == len(xs) == length
    assert overlay == [value for _, value in previous]
    labels = page.chart_series_labels()
    assert labels[2] == f"Previous period ({previous_start} to {previous_end})"
    assert page.page.get_attribute("#chart", "data-overlay") == "true"
    assert page.page.locator("#chart .u-legend").inner_text().count("Previous period") == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 4, 1)),  # 91 days counted inclusively
        (date(2026, 2, 1), date(2026, 1, 1)),  # start after end
    ],
    ids=["over-90-days", "start-after-end"],
)
def test_a_bad_range_shows_the_apis_own_message(page, served, start, end):
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="daily", start=start, end=end, compare=True)

    assert page.show() == "error"

    answer = served.get(
        f"/v2/clients/{client_id}/analytics/users/{user_id}/activity",
        served.token(),
        params={"metric": "activity-count", "start_date": start, "end_date": end},
    )
    assert answer.status_code == 400
    assert page.error_text() == answer.json()["error"]["message"]
    if (end - start).days >= 90:
        assert page.error_text() == "Date range cannot exceed 90 days"
    assert page.page.get_attribute("#chart", "data-points") == "0"
    assert page.page.locator("#chart canvas").count() == 0
    assert page.page.is_visible("#error")


def test_an_unknown_token_shows_the_apis_message(browser, served):
    unknown = "dbk_000000000000_" + "A" * 43
    opened = DaybookPage.open(browser, served.url, None)
    try:
        opened.page.fill("#token", unknown)
        opened.page.click("#token-use")
        opened.page.wait_for_selector("#error:not([hidden])")
        answer = served.get("/v2/clients", unknown)
        assert answer.status_code == 401
        assert opened.error_text() == answer.json()["error"]["message"]
    finally:
        opened.close()


def test_the_sparkline_grid_ranks_the_clients_most_active_users(page, served):
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="daily", start=START, end=END)
    page.show()
    page.wait_for_sparklines()

    totals: dict[str, int] = defaultdict(int)
    for (client, day, user, _device), values in served.reference.activity.items():
        if client == client_id and START <= day <= END:
            totals[user] += values["total_activity_count"]
    ranked = sorted((user for user in totals if totals[user] > 0), key=lambda u: (-totals[u], u))
    cards = page.page.eval_on_selector_all(
        "#sparklines .sparkline",
        "cards => cards.map(c => [c.dataset.id, c.querySelector('.spark').dataset.points])",
    )
    assert [card_id for card_id, _ in cards] == ranked[:12]
    days = (END - START).days + 1
    assert all(points == str(days) for _, points in cards)

    # Choosing a card charts that user.
    second = ranked[1]
    page.page.click(f'#sparklines .sparkline[data-id="{second}"]')
    page.page.wait_for_selector(f'#sparklines .sparkline[data-id="{second}"][aria-pressed="true"]')
    assert page.page.input_value("#entity") == second
    expected = series(
        served.reference,
        entity="user",
        client_id=client_id,
        entity_id=second,
        metric="activity-count",
        start=START,
        end=END,
        granularity="daily",
    )
    assert page.chart_data()[1] == [value for _, value in expected]


def test_every_control_is_labelled_and_the_form_works_from_the_keyboard(page, served):
    unlabelled = page.page.eval_on_selector_all(
        "input, select, button",
        """els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                              && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                     .map(e => e.id || e.name)""",
    )
    assert unlabelled == []
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="monthly", start=START, end=END)
    page.page.focus("#end-date")
    page.page.keyboard.press("Enter")  # implicit submission, no mouse
    page.page.wait_for_selector('#chart-section[data-series="drawn"]')
    assert page.page.get_attribute("#chart", "data-points") == str(
        len(expected_buckets(START, END, "monthly"))
    )


def test_screenshots_at_desktop_and_phone_width(browser, served, backend, artifacts):
    client_id, user_id = busiest(served, "user", START, END)
    for name, viewport, phone in (("desktop", (1280, 900), False), ("phone", (375, 812), True)):
        opened = DaybookPage.open(
            browser,
            served.url,
            served.token(),
            viewport={"width": viewport[0], "height": viewport[1]},
            is_mobile=phone,
            has_touch=phone,
        )
        try:
            opened.choose(client_id, "user", user_id)
            opened.set_query(
                metric="activity-count", granularity="daily", start=START, end=END, compare=True
            )
            assert opened.show() == "drawn"
            opened.wait_for_sparklines()
            # Nothing wider than the screen: no sideways scrolling on a phone.
            width = opened.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= viewport[0]
            path = artifacts / f"activity-{backend}-{name}.png"
            opened.page.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 10_000
            assert opened.errors == []
        finally:
            opened.close()
