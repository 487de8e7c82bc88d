"""Fixtures: a really served API per backend, started once per session.

The server runs ``daybook serve`` over the session's built sample warehouse: on
PostgreSQL the database itself, on DuckDB a copy of the built file (the server
holds its file open read-only for the whole session, which would stop any other
test from opening the shared file for writing). Expected answers come from
``tests/reference.py`` over the raw rows.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# This folder is named like the ``api`` package: with ``tests/`` on sys.path (pytest's
# rootdir conftest) Python would import it as a namespace package instead of the real
# one. The checkout first on sys.path makes ``import api`` the application again.
_CHECKOUT = str(Path(__file__).resolve().parents[2])
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)
if getattr(sys.modules.get("api"), "__file__", None) is None:
    sys.modules.pop("api", None)
from api_helpers import RAW_TABLES, Served, plain_row, serving_copy, start_server  # noqa: E402
from reference import compute  # noqa: E402


@pytest.fixture(scope="session")
def served_apps(built_warehouses, tmp_path_factory) -> Iterator[dict]:
    """Lazily started servers keyed by backend, stopped at the end of the session."""
    started: dict[str, Served] = {}

    class Lazy(dict):
        def __missing__(self, backend: str) -> Served:
            built = built_warehouses[backend]
            raw = {table: [plain_row(row) for row in built.raw_rows(table)] for table in RAW_TABLES}
            reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
            folder = tmp_path_factory.mktemp(f"served-{backend}")
            warehouse = serving_copy(built.warehouse, folder)
            started[backend] = self[backend] = start_server(warehouse, folder, reference, raw)
            return started[backend]

    yield Lazy()
    for served in started.values():
        served.stop()


@pytest.fixture
def served(backend: str, served_apps: dict) -> Served:
    """The served API over the session's built warehouse, on the parametrised backend."""
    return served_apps[backend]


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A per-test random stream, seeded by the test's id so failures reproduce."""
    return random.Random(request.node.nodeid)
