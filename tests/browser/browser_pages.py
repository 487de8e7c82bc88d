"""A page object for the activity page, so the tests read as what a person does on it.

The page marks its progress on the DOM (``#chart-section[data-series]``:
loading, drawn or error; ``#sparklines-section[data-sparklines]``), which is
what the helpers wait for: selectors, not script predicates, because the
page's Content-Security-Policy forbids the ``eval`` that Playwright's
string predicates need.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reference import bucket_start, days_between

TIMEOUT_MS = 30_000
# A freshly started server's first answers can take longer when the machine is busy (the
# suite runs Spark servers beside the browser tests); an error shows at once, with its text.
FIRST_LOAD_MS = 90_000
# Thursday 2025-12-04 to Sunday 2026-02-01: partial first and last weeks, three months,
# two quarters, inside the sample data's window (2025-10-01 for 182 days).
START, END = date(2025, 12, 4), date(2026, 2, 1)


def expected_buckets(start: date, end: date, granularity: str) -> list[date]:
    """Bucket start dates overlapping ``start..end``, from the independent reference."""
    return sorted({bucket_start(day, granularity) for day in days_between(start, end)})


def busiest(served: Any, entity: str, start: date, end: date) -> tuple[str, str]:
    """The (client, id) with the most activity in the range: a series with something to draw."""
    position = 2 if entity == "user" else 3
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for key, values in served.reference.activity.items():
        if start <= key[1] <= end:
            totals[(key[0], key[position])] += values["total_activity_count"]
    return max(sorted(totals), key=lambda pair: totals[pair])


@dataclass
class DaybookPage:
    """The activity page in one browser context, with the JavaScript errors it raised."""

    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Any, base_url: str, token: str | None, **context: Any) -> DaybookPage:
        page = browser.new_context(**context).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        opened = cls(page, base_url)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.goto(base_url + "/" + (f"#token={token}" if token else ""))
        if token:
            opened.wait_for_directory()
        return opened

    def wait_for_directory(self) -> None:
        """Wait until the page has listed the clients and the first client's entities, and
        fail with the page's own message if it showed an error instead."""
        self.page.wait_for_selector(
            'body[data-state="ready"], body[data-state="error"]', timeout=FIRST_LOAD_MS
        )
        if self.page.is_visible("#error"):
            raise AssertionError(f"the page showed an error: {self.error_text()!r}")
        self.page.wait_for_selector("#entity option", state="attached")

    def close(self) -> None:
        self.page.context.close()

    # --- choosing what to chart ------------------------------------------------------------
    def choose(self, client_id: str, entity: str, entity_id: str) -> None:
        """Pick a client, the user/device kind, then find the entity by searching for its id."""
        page = self.page
        if page.input_value("#client") != client_id:
            page.select_option("#client", client_id)
        page.check(f"input[name=entity][value={entity}]")
        page.fill("#entity-search", entity_id)
        # The search's own answer, not an earlier listing that also holds the id: a listing
        # that lands after a later choice would replace it.
        page.wait_for_selector(f'#entity[data-search="{entity_id}"]', state="attached")
        page.wait_for_selector(f'#entity option[value="{entity_id}"]', state="attached")
        page.select_option("#entity", entity_id)

    def set_query(
        self, *, metric: str, granularity: str, start: date, end: date, compare: bool = False
    ) -> None:
        page = self.page
        page.select_option("#metric", metric)
        page.select_option("#granularity", granularity)
        page.fill("#start-date", start.isoformat())
        page.fill("#end-date", end.isoformat())
        page.set_checked("#compare", compare)

    def show(self) -> str:
        """Submit and wait for the chart to be drawn or refused; returns drawn or error."""
        self.page.click("#show")
        section = self.page.wait_for_selector(
            '#chart-section[data-series="drawn"], #chart-section[data-series="error"]'
        )
        outcome = section.get_attribute("data-series")
        if outcome == "error":  # shown in the report of a test that expected a chart
            print(f"the page showed an error: {self.error_text()!r}")
        return outcome

    def wait_for_sparklines(self) -> None:
        self.page.wait_for_selector(
            '#sparklines-section[data-sparklines="drawn"], '
            '#sparklines-section[data-sparklines="error"]'
        )

    # --- reading what is shown --------------------------------------------------------------
    def sparkline_cards(self) -> list[tuple[str, str]]:
        """Each sparkline card's entity id and its title line (``.total``), in page order."""
        cards = self.page.eval_on_selector_all(
            "#sparklines .sparkline",
            "cards => cards.map(c => [c.dataset.id, c.querySelector('.total').textContent])",
        )
        return [(entity_id, title) for entity_id, title in cards]

    def chart_data(self) -> list[list[float | None]]:
        """The arrays uPlot draws: x (epoch seconds), then one array per series."""
        return self.page.evaluate("() => window.daybook.state.chart.data")

    def chart_series_labels(self) -> list[str]:
        return self.page.evaluate("() => window.daybook.state.chart.series.map(s => s.label)")

    def table_rows(self) -> list[list[str]]:
        return self.page.eval_on_selector_all(
            "#data-table tbody tr",
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))",
        )

    def error_text(self) -> str:
        return self.page.inner_text("#error .message")

    def options(self, selector: str) -> list[tuple[str, str]]:
        return self.page.eval_on_selector_all(
            f"{selector} option", "options => options.map(o => [o.value, o.textContent])"
        )
