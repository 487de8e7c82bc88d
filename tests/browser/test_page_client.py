"""The page's client-wide series (issue 16): the entity kinds come from /v2/metrics, and
"Whole client" charts /v2/clients/{client_id}/analytics/activity, values from
``reference.client_series`` over the raw rows."""

from __future__ import annotations

import pytest
from browser_pages import END, START, busiest
from reference import client_series

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("metric", ["activity-count", "user-count"])
def test_the_whole_client_is_charted_from_the_catalogue(page, served, metric):
    client_id, _ = busiest(served, "user", START, END)
    kinds = page.page.eval_on_selector_all(
        "input[name=entity]", "radios => radios.map(r => r.value)"
    )
    assert kinds == ["user", "device", "client"]  # the registry's order, from /v2/metrics
    if page.page.input_value("#client") != client_id:
        page.page.select_option("#client", client_id)
    page.page.check("input[name=entity][value=client]")
    assert page.page.is_hidden("#entity-search")  # nobody to choose: the client itself
    page.set_query(metric=metric, granularity="weekly", start=START, end=END)

    assert page.show() == "drawn"

    expected = client_series(
        served.reference,
        client_id=client_id,
        metric=metric,
        start=START,
        end=END,
        granularity="weekly",
    )
    _, values = page.chart_data()
    assert values == [value for _, value in expected]
    assert any(values)
    assert page.errors == []
