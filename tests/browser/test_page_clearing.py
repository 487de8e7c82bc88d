"""What the page shows when it has nothing to show: a refused or forgotten token clears the
chart, its table, the grid and the lists; the whole client has no "most active" grid; a
client without a name is named by its id; a network failure is not called a refusal.

Messages and names are compared with the API's own answers to the same requests.
"""

from __future__ import annotations

import pytest
from browser_pages import END, START, DaybookPage, busiest
from served_api import activity_path

pytestmark = pytest.mark.browser

UNKNOWN_TOKEN = "dbk_000000000000_" + "A" * 43


def _draw_a_users_chart(page: DaybookPage, served) -> str:
    """Chart the busiest user with its sparkline grid; returns the chart's title."""
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric="activity-count", granularity="daily", start=START, end=END)
    assert page.show() == "drawn"
    page.wait_for_sparklines()
    assert page.page.locator("#sparklines .sparkline").count() > 0
    return page.page.inner_text("#chart-title")


def _assert_nothing_left(page: DaybookPage, old_title: str) -> None:
    shown = page.page
    assert shown.get_attribute("#chart-section", "data-series") != "drawn"
    assert shown.evaluate("() => window.daybook.state.chart") is None
    assert shown.locator("#chart canvas").count() == 0
    assert shown.get_attribute("#chart", "data-points") == "0"
    assert page.table_rows() == []
    assert shown.inner_text("#chart-title") != old_title
    assert shown.locator("#sparklines li").count() == 0
    assert shown.evaluate("() => window.daybook.state.sparks.length") == 0
    assert page.options("#client") == []
    assert page.options("#entity") == []


def test_a_refused_token_clears_the_chart_the_grid_and_the_lists(page, served):
    old_title = _draw_a_users_chart(page, served)

    page.page.fill("#token", UNKNOWN_TOKEN)
    page.page.click("#token-use")
    page.page.wait_for_selector("#error:not([hidden])")

    answer = served.get("/v2/clients", UNKNOWN_TOKEN)
    assert answer.status_code == 401
    assert page.error_text() == answer.json()["error"]["message"]
    _assert_nothing_left(page, old_title)
    assert page.page.get_attribute("#chart-section", "data-series") == "error"
    assert page.errors == []


def test_forget_clears_the_token_the_chart_the_grid_and_the_lists(page, served):
    old_title = _draw_a_users_chart(page, served)

    page.page.click("#token-forget")

    assert page.page.input_value("#token") == ""
    assert page.page.evaluate("() => localStorage.getItem('daybook.token')") is None
    _assert_nothing_left(page, old_title)
    assert page.page.is_hidden("#sparklines-section")
    assert page.errors == []


def test_the_whole_client_has_no_most_active_grid(page, served):
    _draw_a_users_chart(page, served)
    assert page.page.is_visible("#sparklines-section")

    page.page.check("input[name=entity][value=client]")
    assert page.show() == "drawn"
    assert page.page.is_hidden("#sparklines-section")  # no "Most active users" over it

    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    assert page.show() == "drawn"
    page.wait_for_sparklines()
    assert page.page.is_visible("#sparklines-section")
    assert page.page.locator("#sparklines .sparkline").count() > 0
    assert page.errors == []


def test_a_client_without_a_name_is_named_by_its_id(browser, served):
    # The API's own /v2/clients answer, with one client's name emptied on its way to the page.
    client_id, _ = busiest(served, "user", START, END)
    answered: list[dict] = []

    def empty_name(route) -> None:
        response = route.fetch()
        body = response.json()
        for row in body["data"]:
            if row["client_id"] == client_id:
                row["name"] = ""
        answered.append(body)
        route.fulfill(response=response, json=body)

    opened = DaybookPage.open(browser, served.url, None)
    try:
        opened.page.route("**/v2/clients", empty_name)
        opened.page.fill("#token", served.token())
        opened.page.click("#token-use")
        opened.wait_for_directory()

        row = next(r for r in answered[-1]["data"] if r["client_id"] == client_id)
        assert dict(opened.options("#client"))[client_id] == f"{client_id} ({row['timezone']})"

        opened.page.select_option("#client", client_id)
        opened.page.check("input[name=entity][value=client]")
        opened.page.wait_for_selector(f'#entity option[value="{client_id}"]', state="attached")
        opened.set_query(metric="activity-count", granularity="weekly", start=START, end=END)
        assert opened.show() == "drawn"

        series = served.get(
            activity_path(client_id, "client", client_id),
            served.token(),
            params={
                "metric": "activity-count",
                "granularity": "weekly",
                "start_date": START,
                "end_date": END,
            },
        )
        assert series.status_code == 200
        assert opened.page.inner_text("#chart-title") == f"{series.json()['label']} for {client_id}"
        assert opened.errors == []
    finally:
        opened.close()


def test_an_unreachable_api_is_not_called_a_refusal(page, served):
    client_id, user_id = busiest(served, "user", START, END)
    _draw_a_users_chart(page, served)

    page.page.route("**/analytics/**", lambda route: route.abort("connectionrefused"))
    assert page.show() == "error"
    summary = page.page.inner_text("#chart-summary")
    assert "could not be reached" in summary and "refused" not in summary, summary
    assert "could not be reached" in page.error_text()
    assert page.page.locator("#chart canvas").count() == 0

    # An answer that is an error is still a refusal, with the API's own message.
    page.page.unroute("**/analytics/**")
    page.set_query(metric="activity-count", granularity="daily", start=END, end=START)
    assert page.show() == "error"
    answer = served.get(
        activity_path(client_id, "user", user_id),
        served.token(),
        params={"metric": "activity-count", "start_date": END, "end_date": START},
    )
    assert answer.status_code == 400
    assert page.error_text() == answer.json()["error"]["message"]
    assert "refused" in page.page.inner_text("#chart-summary")
