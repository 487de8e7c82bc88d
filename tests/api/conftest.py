"""API-test fixtures; the API itself (``api`` in process, ``served`` for real) comes from
``tests/conftest.py``."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_client(api):
    """Test clients of new apps over the session's sample warehouse, with ``config`` overrides."""
    from api.app import create_app

    apps = []

    def make(**config):
        app = create_app({"warehouse": api.warehouse, **config})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["daybook"].reader.close()
