"""Page-test fixtures: a served API per backend, and Debian's Chromium driven by Playwright.

The server is ``daybook serve`` over the session's built sample warehouse,
shared with the API tests (``served_apps`` in ``tests/conftest.py``).
Chromium is the system one at ``/usr/bin/chromium``, launched by path with
background networking off (the registry's browser downloads do not work
here). Without it the browser tests skip with the reason shown, unless
``DAYBOOK_REQUIRE_BROWSER=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("DAYBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _require_chromium() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    message = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    if os.environ.get("DAYBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " and DAYBOOK_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session (each test gets its own context)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/`` is ignored by git, kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(browser, served):
    """The activity page of the served API, opened with an all-clients token."""
    from browser_pages import DaybookPage

    opened = DaybookPage.open(browser, served.url, served.token())
    yield opened
    opened.close()
