"""Fixtures for the data-quality tests: writable copies of the session's built warehouse.

The session ``built`` warehouse is shared read-only, so every test that breaks
data works on a copy: the DuckDB file copied, or a PostgreSQL database created
from the built one as a template.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import copy_postgres_database, drop_postgres_database

from daybook.config import Warehouse, parse_database_url
from daybook.quality import CheckReport, run_checks


def copy_warehouse(source: Warehouse, folder: Path) -> Warehouse:
    """A writable copy of ``source`` (nobody may hold it open while it is copied)."""
    if source.backend == "duckdb":
        assert source.duckdb_path is not None
        # same file name in a fresh folder: DuckDB names the catalog after the file, and
        # dbt's views refer to it ("warehouse"."main"."..."), so a renamed copy breaks them
        target = folder / source.duckdb_path.name
        shutil.copyfile(source.duckdb_path, target)
        wal = source.duckdb_path.with_name(source.duckdb_path.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
        return parse_database_url(f"duckdb://{target}")
    return copy_postgres_database(source, "daybook_quality")


@pytest.fixture(scope="module")
def warehouse_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Factory for copies of a warehouse; PostgreSQL copies are dropped at module end."""
    made: list[Warehouse] = []

    def make(source: Warehouse) -> Warehouse:
        copy = copy_warehouse(source, tmp_path_factory.mktemp("quality-copy"))
        made.append(copy)
        return copy

    yield make
    for warehouse in made:
        if warehouse.backend == "postgres":
            drop_postgres_database(warehouse)


@pytest.fixture(scope="session")
def clean_reports(built_warehouses: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per backend, the check report of the untouched built warehouse (once per session:
    a Great Expectations run over every suite takes seconds)."""

    class Lazy(dict):
        def __missing__(self, backend: str) -> CheckReport:
            docs = tmp_path_factory.mktemp(f"docs-clean-{backend}")
            self[backend] = run_checks(built_warehouses[backend].warehouse, docs_dir=docs)
            return self[backend]

    return Lazy()
