"""Shared fixtures: one fresh warehouse per backend, built once per test session.

Every warehouse, semantic-layer and API test runs on DuckDB and on PostgreSQL
through the ``backend`` parameter. PostgreSQL tests skip only when no server
is reachable, and fail instead when ``DAYBOOK_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import (
    PRISTINE_TEMPLATES,
    copy_postgres_database,
    create_postgres_database,
    drop_postgres_database,
    read_table,
    require_postgres,
)

from daybook.config import Warehouse, parse_database_url

BACKENDS = ("duckdb", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    """Keep PostgreSQL warehouses' dbt state out of the checkout's ``.daybook/``."""
    import tempfile

    os.environ["DAYBOOK_STATE_DIR"] = tempfile.mkdtemp(prefix="daybook-test-state-")


@pytest.fixture
def make_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Factory for empty warehouses of a backend; PostgreSQL databases are dropped afterwards."""
    created: list[Warehouse] = []

    def make(backend: str) -> Warehouse:
        if backend == "duckdb":
            folder = tmp_path_factory.mktemp("duckdb")
            warehouse = parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
        else:
            require_postgres()
            warehouse = create_postgres_database()
            created.append(warehouse)
        return warehouse

    yield make
    for warehouse in created:
        drop_postgres_database(warehouse)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on DuckDB and once on PostgreSQL."""
    return request.param


@pytest.fixture
def empty_warehouse(backend: str, make_warehouse) -> Warehouse:
    """A fresh, empty warehouse of the parametrised backend."""
    return make_warehouse(backend)


@dataclass
class BuiltWarehouse:
    """A warehouse generated, loaded and built once per session, shared read-only by tests."""

    warehouse: Warehouse
    raw_dir: Path

    def raw_rows(self, table: str) -> list[dict]:
        return read_table(self.warehouse, f"select * from raw.{table}")


def _build_sample(backend: str, tmp: Path) -> BuiltWarehouse:
    from daybook.build import run_build
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    if backend == "duckdb":
        warehouse = parse_database_url(f"duckdb://{tmp / 'warehouse.duckdb'}")
    else:
        require_postgres()
        warehouse = create_postgres_database("daybook_session")
    files = generate_dataset(tmp / "raw", heartbeats=20_000, seed=7, file_format="parquet")
    for table in ("clients", "users", "devices", "heartbeats"):
        load_files(warehouse, table, files[table])
    result = run_build(warehouse)
    assert result.success, result.summary()
    if backend == "postgres":
        # served apps keep pooled connections to the built database, which forbids
        # using it as a template; tests that need a writable copy clone this one
        PRISTINE_TEMPLATES[warehouse.dbname] = copy_postgres_database(
            warehouse, "daybook_pristine"
        ).dbname
    return BuiltWarehouse(warehouse=warehouse, raw_dir=tmp / "raw")


@pytest.fixture(scope="session")
def built_warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Lazily built sample warehouses keyed by backend, dropped at the end of the session."""
    cache: dict[str, BuiltWarehouse] = {}

    class Lazy(dict):
        def __missing__(self, backend: str) -> BuiltWarehouse:
            cache[backend] = _build_sample(backend, tmp_path_factory.mktemp(f"built-{backend}"))
            self[backend] = cache[backend]
            return cache[backend]

    yield Lazy()
    for built in cache.values():
        if built.warehouse.backend == "postgres":
            drop_postgres_database(built.warehouse)
            pristine = PRISTINE_TEMPLATES.pop(built.warehouse.dbname, None)
            if pristine:
                drop_postgres_database(parse_database_url(f"postgresql:///{pristine}"))


@pytest.fixture
def built(backend: str, built_warehouses: dict) -> BuiltWarehouse:
    """The session's generated-loaded-built sample warehouse on the parametrised backend."""
    return built_warehouses[backend]


@pytest.fixture(scope="session")
def served_apps(built_warehouses, tmp_path_factory) -> Iterator[dict]:
    """Lazily started ``daybook serve`` processes keyed by backend, stopped at session end.

    Each serves the session's built sample warehouse (on DuckDB a copy of the
    file, on PostgreSQL the database itself) and carries the reference answers
    computed from its raw rows; API, page and refresh tests share them.
    """
    from reference import compute
    from served_api import RAW_TABLES, plain_row, serving_copy, start_server

    started: dict = {}

    class Lazy(dict):
        def __missing__(self, backend: str):
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
def served(backend: str, served_apps: dict):
    """The served API over the session's built warehouse, on the parametrised backend."""
    return served_apps[backend]
