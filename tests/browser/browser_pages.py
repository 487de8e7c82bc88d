"""A page object for the activity page, so the tests read as what a person does on it.

The page marks its progress on the DOM (``#chart-section[data-series]``:
loading, drawn or error; ``#sparklines-section[data-sparklines]``), which is
what the helpers wait for: selectors, not script predicates, because the
page's Content-Security-Policy forbids the ``eval`` that Playwright's
string predicates need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

TIMEOUT_MS = 30_000


def expected_buckets(start: date, end: date, granularity: str) -> list[date]:
    """Bucket start dates overlapping ``start..end``, computed from the calendar alone."""
    buckets: list[date] = []
    day = start
    while day <= end:
        if granularity == "daily":
            key = day
        elif granularity == "weekly":
            iso = day.isocalendar()
            key = date.fromisocalendar(iso.year, iso.week, 1)
        elif granularity == "monthly":
            key = date(day.year, day.month, 1)
        else:
            key = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        if not buckets or buckets[-1] != key:
            buckets.append(key)
        day += timedelta(days=1)
    return buckets


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
            page.wait_for_selector("#entity option", state="attached")
        return opened

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
        return section.get_attribute("data-series")

    def wait_for_sparklines(self) -> None:
        self.page.wait_for_selector(
            '#sparklines-section[data-sparklines="drawn"], '
            '#sparklines-section[data-sparklines="error"]'
        )

    # --- reading what is shown --------------------------------------------------------------
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
