"""Serving-store fixtures: the session's sample warehouse published into a separate store.

``published_stores[(warehouse_backend, store_backend)]`` copies the built sample (DuckDB:
a private copy of the file; PostgreSQL: the session database, only read) into a fresh
store of the other kind (or the same kind, another database), through the
:class:`~daybook.publishers.StorePublisher` every build uses, and builds the API app over
it with ``serving_url``, as ``DAYBOOK_SERVING_URL`` would. Built once per session and
pair; PostgreSQL stores are dropped at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from support import create_postgres_database, drop_postgres_database, require_postgres

from daybook.config import Warehouse, parse_database_url

# (warehouse backend, store backend): across kinds both ways, and each kind into its own.
PAIRS = (
    ("duckdb", "postgres"),
    ("postgres", "duckdb"),
    ("duckdb", "duckdb"),
    ("postgres", "postgres"),
)


@dataclass
class Published:
    """A warehouse, the store it was published to, and the API app over that store."""

    warehouse: Warehouse
    store: Warehouse
    api: Any  # in_process_api.InProcess, whose ``warehouse`` is the store (tokens live there)


def new_store(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """An empty serving store: a DuckDB path in a fresh folder, or a new PostgreSQL database."""
    if backend == "duckdb":
        folder = tmp_path_factory.mktemp("store")
        return parse_database_url(f"duckdb://{folder / 'serving.duckdb'}")
    require_postgres()
    return create_postgres_database("daybook_store")


@pytest.fixture(scope="session")
def published_stores(built_warehouses, samples, tmp_path_factory) -> Iterator[dict]:
    from in_process_api import InProcess
    from served_api import serving_copy

    from api.app import create_app
    from daybook.publishers import StorePublisher

    made: dict = {}
    stores: list[Warehouse] = []

    class Lazy(dict):
        def __missing__(self, pair: tuple[str, str]) -> Published:
            warehouse_backend, store_backend = pair
            sample = samples[warehouse_backend]
            folder = tmp_path_factory.mktemp(f"published-{warehouse_backend}")
            warehouse = serving_copy(built_warehouses[warehouse_backend].warehouse, folder)
            store = new_store(store_backend, tmp_path_factory)
            stores.append(store)
            StorePublisher(store).publish(warehouse)
            app = create_app({"warehouse": warehouse, "serving_url": store.url})
            api = InProcess(
                backend=store_backend,
                warehouse=store,
                reference=sample.reference,
                clients=sample.raw["clients"],
                users=sample.raw["users"],
                devices=sample.raw["devices"],
                app=app,
            )
            made[pair] = self[pair] = Published(warehouse, store, api)
            return made[pair]

    yield Lazy()
    for published in made.values():
        published.api.close()
    for store in stores:
        if store.backend == "postgres":
            drop_postgres_database(store)


@pytest.fixture(params=PAIRS, ids=lambda pair: f"{pair[0]}-to-{pair[1]}")
def published(request: pytest.FixtureRequest, published_stores: dict) -> Published:
    """The sample published into a separate store, per (warehouse, store) pair."""
    return published_stores[request.param]


@pytest.fixture
def make_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Factory of empty serving stores (``make_store("postgres")``); PostgreSQL ones are
    dropped after the test."""
    created: list[Warehouse] = []

    def make(backend: str) -> Warehouse:
        store = new_store(backend, tmp_path_factory)
        created.append(store)
        return store

    yield make
    for store in created:
        if store.backend == "postgres":
            drop_postgres_database(store)
