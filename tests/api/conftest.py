"""API-test fixtures; the served app itself (``served``) comes from ``tests/conftest.py``."""

from __future__ import annotations

import random

import pytest


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A per-test random stream, seeded by the test's id so failures reproduce."""
    return random.Random(request.node.nodeid)
