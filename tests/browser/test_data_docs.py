"""Data Docs opened from disk with no network (issue 12): styled, logo shown, tables drawn.

Every request to anything but a file is aborted, as on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daybook.quality import run_checks

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs_index(built_warehouses, tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("data-docs")
    report = run_checks(built_warehouses["duckdb"].warehouse, docs_dir=docs)
    assert report.docs_index is not None
    return report.docs_index


def _open_offline(browser, url: str):
    context = browser.new_context()
    page = context.new_page()
    remote: list[str] = []
    failed: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            remote.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(url)
    page.wait_for_load_state("load")
    return context, page, remote, failed


def test_index_is_styled_and_complete_offline(browser, docs_index):
    context, page, remote, failed = _open_offline(browser, docs_index.as_uri())
    try:
        # bootstrap-table (JavaScript) draws the validation results table
        page.wait_for_selector(".bootstrap-table table tbody tr")
        assert remote == [] and failed == []
        rows = page.eval_on_selector_all(".bootstrap-table table tbody tr", "rows => rows.length")
        assert rows >= 10
        # Bootstrap's stylesheet applies (its body font and .btn padding), Font Awesome's font
        style = page.evaluate(
            """() => ({
                font: getComputedStyle(document.body).fontFamily,
                navbar: getComputedStyle(document.querySelector('.navbar')).display,
                icon: getComputedStyle(document.querySelector('i.fas'), '::before').fontFamily,
                logo: [...document.images].map(i => [i.naturalWidth, i.src]),
            })"""
        )
        assert "apple-system" in style["font"]
        assert style["navbar"] == "flex"
        assert "Font Awesome" in style["icon"]
        assert style["logo"] and all(width > 0 for width, _ in style["logo"]), style["logo"]
        # warning-only runs read as warnings, in the index too
        statuses = page.evaluate(
            """() => jQuery('table').filter((i, t) => !!jQuery(t).data('bootstrap.table'))
                .first().bootstrapTable('getData').map(row => row._validation_success_text)"""
        )
        assert sorted(set(statuses)) == ["Passed with warnings", "Success"], statuses
        assert statuses.count("Passed with warnings") == 2  # raw.heartbeats, quarantine
    finally:
        context.close()


def test_validation_page_is_styled_offline_and_says_passed_with_warnings(browser, docs_index):
    page_path = next(
        docs_index.parent.glob("validations/raw/heartbeats/heartbeat_problems/**/*.html")
    )
    context, page, remote, failed = _open_offline(browser, page_path.as_uri())
    try:
        assert remote == [] and failed == []
        assert "Passed with warnings" in page.inner_text(".alert-secondary")
        assert page.evaluate("() => typeof jQuery === 'function' && !!jQuery.fn.bootstrapTable")
        widths = page.evaluate("() => [...document.images].map(i => i.naturalWidth)")
        assert widths and all(width > 0 for width in widths)
    finally:
        context.close()
