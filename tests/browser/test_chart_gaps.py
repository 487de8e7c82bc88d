"""Buckets without a value: the summary's words follow the metric's kind (zeros are "no
activity" for counts and sums only, nulls are "no value"), and a value with gaps on both
sides is drawn as a dot, in the sparklines and the main chart.

Counts of nulls and zeros, and the isolated values, come from the API's own answers to the
same requests; a metric's kind (``value_type``) from ``/v2/metrics`` when it gives it, else
from the semantic layer the server reads (``/v2/metrics`` does not give it yet).
"""

from __future__ import annotations

import pytest
from browser_pages import END, START, DaybookPage, busiest
from served_api import activity_path

from daybook.semantic import load_catalog

pytestmark = pytest.mark.browser


def _api_series(served, entity: str, client_id: str, entity_id: str, metric: str) -> list:
    """The values the API answers for one daily series over START..END, nulls kept."""
    answer = served.get(
        activity_path(client_id, entity, entity_id),
        served.token(),
        params={"metric": metric, "granularity": "daily", "start_date": START, "end_date": END},
    )
    assert answer.status_code == 200, answer.text
    return [point["value"] for point in answer.json()["data"]]


def _value_types(served) -> dict[str, str]:
    """Each metric's value type: the catalogue's own when /v2/metrics gives it, else the
    semantic layer's (``integer`` for counts and sums, ``number`` otherwise)."""
    answer = served.get("/v2/metrics", served.token())
    assert answer.status_code == 200, answer.text
    semantic = load_catalog().metrics
    return {
        row["name"]: row.get("value_type") or semantic[row["name"]].value_type
        for row in answer.json()["data"]
    }


def _check_summary(text: str, values: list, counts_activity: bool) -> None:
    zeros = sum(1 for value in values if value == 0)
    nulls = sum(1 for value in values if value is None)
    if counts_activity:
        assert f", {zeros} with no activity" in text, (text, zeros)
        assert nulls == 0 or f", {nulls} with no value" in text, (text, nulls)
    else:
        assert "no activity" not in text, text
        assert text.endswith(f", {nulls} with no value."), (text, nulls)


@pytest.mark.parametrize("metric", ["activity-count", "activity-wow-change", "chrome-share"])
def test_the_summary_calls_zeros_no_activity_for_counts_only(page, served, metric):
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric=metric, granularity="daily", start=START, end=END)
    assert page.show() == "drawn"

    values = _api_series(served, "user", client_id, user_id, metric)
    counts_activity = _value_types(served)[metric] == "integer"
    if counts_activity:
        assert 0 in values  # the case this test is about: idle days
    else:
        assert None in values  # days where the metric has no value
    _check_summary(page.page.inner_text("#chart-summary"), values, counts_activity)
    assert page.errors == []


def test_the_catalogue_value_type_decides_the_words(browser, served):
    # The whole client's daily active users: whole numbers, never null, as a count's would
    # be, but an average over a bucket's days ("number"): once /v2/metrics says so, the
    # page follows it. The API's own catalogue answer, each metric given its value type.
    metric = "daily-active-users"
    client_id, _ = busiest(served, "user", START, END)
    value_types = _value_types(served)

    def with_value_types(route) -> None:
        response = route.fetch()
        body = response.json()
        for row in body["data"]:
            row["value_type"] = value_types[row["name"]]
        route.fulfill(response=response, json=body)

    opened = DaybookPage.open(browser, served.url, None)
    try:
        opened.page.route("**/v2/metrics", with_value_types)
        opened.page.fill("#token", served.token())
        opened.page.click("#token-use")
        opened.wait_for_directory()
        if opened.page.input_value("#client") != client_id:
            opened.page.select_option("#client", client_id)
        opened.page.check("input[name=entity][value=client]")
        opened.page.wait_for_selector(f'#entity option[value="{client_id}"]', state="attached")
        opened.set_query(metric=metric, granularity="daily", start=START, end=END)
        assert opened.show() == "drawn"

        values = _api_series(served, "client", client_id, client_id, metric)
        assert value_types[metric] != "integer"
        # The case this test is about: whole numbers (as JavaScript reads them, 1.0 is 1),
        # never null, and days at 0: a series alone cannot tell this from a count's.
        assert all(v is not None and float(v).is_integer() and v >= 0 for v in values)
        assert 0 in values
        _check_summary(opened.page.inner_text("#chart-summary"), values, False)
        assert opened.errors == []
    finally:
        opened.close()


def _isolated(values: list) -> list[int]:
    """Indexes of the values with no value on either side (a null, or the series' end)."""

    def none(i: int) -> bool:
        return i < 0 or i >= len(values) or values[i] is None

    return [i for i in range(len(values)) if not none(i) and none(i - 1) and none(i + 1)]


# The pixels within ``radius`` of each given point of a drawn chart (its uPlot instance
# found by the card's id, or the main chart for null), each as [r, g, b, a].
_PIXELS = """([id, idxs, radius]) => {
  const sparks = window.daybook.state.sparks;
  const u = id === null
    ? window.daybook.state.chart
    : sparks.find((s) => s.root.closest('.sparkline').dataset.id === id);
  return idxs.map((i) => {
    const x = Math.round(u.valToPos(u.data[0][i], 'x', true));
    const y = Math.round(u.valToPos(u.data[1][i], 'y', true));
    const side = 2 * radius + 1;
    const px = u.ctx.getImageData(x - radius, y - radius, side, side).data;
    const pixels = [];
    for (let k = 0; k < px.length; k += 4) pixels.push([...px.slice(k, k + 4)]);
    return pixels;
  });
}"""


def _assert_dots(page: DaybookPage, chart_id: str | None, idxs: list[int], radius: int) -> None:
    """Each point is drawn: a pixel near it is opaque and of the series' colour, #0b4fb3
    (COLORS.current and COLORS.spark in daybook.js): not the faint fill, not nothing."""
    around = page.page.evaluate(_PIXELS, [chart_id, idxs, radius])
    for i, pixels in zip(idxs, around, strict=True):
        assert any(map(_in_series_colour, pixels)), (chart_id, i, pixels)


def _in_series_colour(pixel: list[int]) -> bool:
    r, g, b, a = pixel
    return a >= 200 and max(abs(r - 0x0B), abs(g - 0x4F), abs(b - 0xB3)) <= 40


def test_a_value_between_gaps_is_drawn_in_the_sparklines_and_the_chart(page, served):
    # Week-over-week change, daily: null wherever the same day a week before had no
    # activity, so most values stand alone between nulls.
    metric = "activity-wow-change"
    client_id, user_id = busiest(served, "user", START, END)
    page.choose(client_id, "user", user_id)
    page.set_query(metric=metric, granularity="daily", start=START, end=END)
    assert page.show() == "drawn"

    values = _api_series(served, "user", client_id, user_id, metric)
    assert page.chart_data()[1] == [None if v is None else pytest.approx(v) for v in values]
    isolated = _isolated(values)
    assert isolated  # the case this test is about
    _assert_dots(page, None, isolated, radius=3)

    page.wait_for_sparklines()
    cards = page.page.evaluate(
        "() => window.daybook.state.sparks.map("
        "u => [u.root.closest('.sparkline').dataset.id, u.data[1]])"
    )
    assert cards
    seen = 0
    for entity_id, drawn in cards:
        card = _api_series(served, "user", client_id, entity_id, metric)
        assert drawn == [None if v is None else pytest.approx(v) for v in card], entity_id
        seen += len(_isolated(card))
        _assert_dots(page, entity_id, _isolated(card), radius=1)
    assert seen  # at least one card has a value standing alone
    assert page.errors == []
