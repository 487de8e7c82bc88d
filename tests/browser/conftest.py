"""Page-test fixtures: a served API per backend, and Debian's Chromium driven by Playwright.

The server is ``daybook serve`` over the session's built sample warehouse,
started the way the API tests start theirs (``tests/api/api_helpers.py``).
Chromium is the system one at ``/usr/bin/chromium``, launched by path with
background networking off (the registry's browser downloads do not work
here). Without it the browser tests skip with the reason shown, unless
``DAYBOOK_REQUIRE_BROWSER=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_helpers import RAW_TABLES, Served, plain_row, serving_copy, start_server
from reference import compute

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


@pytest.fixture(scope="session")
def page_servers(built_warehouses, tmp_path_factory) -> Iterator[dict]:
    """Lazily started API servers keyed by backend, stopped at the end of the session."""
    started: dict[str, Served] = {}

    class Lazy(dict):
        def __missing__(self, backend: str) -> Served:
            built = built_warehouses[backend]
            raw = {table: [plain_row(row) for row in built.raw_rows(table)] for table in RAW_TABLES}
            reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
            folder = tmp_path_factory.mktemp(f"page-{backend}")
            warehouse = serving_copy(built.warehouse, folder)
            started[backend] = self[backend] = start_server(warehouse, folder, reference, raw)
            return started[backend]

    yield Lazy()
    for served in started.values():
        served.stop()


@pytest.fixture
def served_page(backend: str, page_servers: dict) -> Served:
    """The served API over the session's built warehouse, on the parametrised backend."""
    return page_servers[backend]


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/`` is ignored by git, kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
