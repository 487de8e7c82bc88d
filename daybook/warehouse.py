"""Opening DB-API connections to the configured warehouse.

One function hides the two drivers so that loaders, checks and the API speak
to DuckDB and PostgreSQL through the same small surface.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from daybook.config import Warehouse


def connect(warehouse: Warehouse, *, read_only: bool = False) -> Any:
    """A new DB-API connection (``duckdb`` or ``psycopg``); the caller closes it.

    PostgreSQL connections are returned with autocommit off, so a caller's
    work is one transaction until it commits.
    """
    if warehouse.backend == "duckdb":
        import duckdb

        assert warehouse.duckdb_path is not None
        if not read_only:
            warehouse.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(warehouse.duckdb_path), read_only=read_only)
    import psycopg

    connection = psycopg.connect(warehouse.pg_conninfo)
    if read_only:
        connection.read_only = True
    return connection


@contextmanager
def connection(warehouse: Warehouse, *, read_only: bool = False) -> Iterator[Any]:
    """``connect`` as a context manager that always closes."""
    con = connect(warehouse, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
