"""API-test fixtures; the served app itself (``served``) comes from ``tests/conftest.py``."""

from __future__ import annotations

import random

import pytest


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A per-test random stream, seeded by the test's id so failures reproduce."""
    return random.Random(request.node.nodeid)


@pytest.fixture
def make_client(served):
    """In-process test clients of apps over the served warehouse, with ``config`` overrides."""
    from api.app import create_app

    apps = []

    def make(**config):
        app = create_app({"warehouse": served.warehouse, **config})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["daybook"].reader.close()
