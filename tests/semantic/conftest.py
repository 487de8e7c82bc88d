"""Fixtures for the semantic layer: the shipped catalogue, stand-in marts on both backends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import (
    SHIPPED_SEMANTIC_DIR,
    create_postgres_database,
    drop_postgres_database,
    require_postgres,
)

from daybook.semantic import Catalog, load_catalog
from semantic.marts import fact_ddl, write_manifest


@pytest.fixture(scope="session")
def manifest_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dbt manifest documenting the marts of ARCHITECTURE.md."""
    return write_manifest(tmp_path_factory.mktemp("manifest") / "manifest.json")


@pytest.fixture(scope="session")
def catalog(manifest_path: Path) -> Catalog:
    """The shipped ``semantic/`` catalogue, checked against the marts' manifest."""
    return load_catalog(SHIPPED_SEMANTIC_DIR, manifest_path=manifest_path)


@pytest.fixture
def semantic_copy(tmp_path: Path) -> Path:
    """A temporary copy of the shipped ``semantic/`` folder a test may add YAML to."""
    target = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, target)
    return target


@pytest.fixture(scope="module")
def duckdb_marts() -> Iterator:
    """An in-memory DuckDB holding an empty ``fct_activity_daily`` with its indexes."""
    import duckdb

    con = duckdb.connect()
    for statement in fact_ddl():
        con.execute(statement)
    yield con
    con.close()


@pytest.fixture(scope="module")
def postgres_marts() -> Iterator:
    """A fresh PostgreSQL database (one per module) holding an empty ``fct_activity_daily``."""
    import psycopg

    require_postgres()
    warehouse = create_postgres_database("daybook_semantic")
    con = psycopg.connect(warehouse.pg_conninfo, autocommit=True)
    try:
        for statement in fact_ddl():
            con.execute(statement)
        yield con
    finally:
        con.close()
        drop_postgres_database(warehouse)
