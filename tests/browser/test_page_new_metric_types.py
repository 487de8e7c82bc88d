"""The chart page with a data team's new ratio, cumulative and derived metrics (issue 16's
"Done when", ``tests/team_metrics.py``): ``daybook serve`` with the team's ``semantic/``
folder offers each metric for exactly the entity kinds its semantic model has, and charts
the whole client's series with the values ``team_metrics.by_hand`` computes from the raw
rows (nulls where a ratio or the week-over-week metric has no value)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from browser_pages import DaybookPage
from served_api import DATA_START, EXAMPLE_CLIENT, serving_copy, start_server
from team_metrics import LABELS, SERVED_ON, by_hand, write_team_dir

pytestmark = pytest.mark.browser

# From before the sample's first day: the week-over-week metric starts null.
START, END = DATA_START - timedelta(days=10), DATA_START + timedelta(days=40)


@pytest.fixture(scope="module")
def team_servers(built_warehouses, samples, tmp_path_factory) -> Iterator[dict]:
    """Per backend (lazily), ``daybook serve`` of the sample warehouse with the team's
    ``semantic/`` folder (``DAYBOOK_SEMANTIC_DIR``), stopped at the module's end."""
    team_dir = write_team_dir(tmp_path_factory.mktemp("team") / "semantic")
    started: dict = {}

    class Lazy(dict):
        def __missing__(self, backend: str):
            sample = samples[backend]
            folder = tmp_path_factory.mktemp(f"team-served-{backend}")
            warehouse = serving_copy(built_warehouses[backend].warehouse, folder)
            with pytest.MonkeyPatch.context() as env:
                env.setenv("DAYBOOK_SEMANTIC_DIR", str(team_dir))
                started[backend] = self[backend] = start_server(
                    warehouse, folder, sample.reference, sample.raw
                )
            return started[backend]

    yield Lazy()
    for served in started.values():
        served.stop()


@pytest.fixture
def team_page(browser, backend: str, team_servers: dict) -> Iterator[tuple]:
    served = team_servers[backend]
    opened = DaybookPage.open(browser, served.url, served.token())
    yield opened, served
    opened.close()


def _points(values: list) -> list:
    return [None if value is None else pytest.approx(value, rel=1e-9) for value in values]


def test_the_page_offers_and_charts_the_new_metrics_for_the_whole_client(team_page) -> None:
    page, served = team_page
    for kind in ("user", "device", "client"):
        page.page.check(f"input[name=entity][value={kind}]")
        offered = dict(page.options("#metric"))
        for name, label in LABELS.items():
            if kind in SERVED_ON[name]:
                assert offered.get(name) == f"{label} ({name})", (kind, name, offered)
            else:
                assert name not in offered, (kind, name)

    if page.page.input_value("#client") != EXAMPLE_CLIENT:
        page.page.select_option("#client", EXAMPLE_CLIENT)
    page.page.check("input[name=entity][value=client]")
    seen_null = False
    for name in LABELS:
        page.set_query(metric=name, granularity="weekly", start=START, end=END)
        assert page.show() == "drawn", name
        times, values = page.chart_data()
        expected = by_hand(
            served, name, "client", EXAMPLE_CLIENT, EXAMPLE_CLIENT, START, END, "weekly"
        )
        assert len(times) == len(expected), name
        assert values == _points([value for _, value in expected]), name
        assert any(value for value in values), name
        seen_null = seen_null or None in values
    assert seen_null  # the derived metric has no value in the week before the data
    assert page.errors == []
