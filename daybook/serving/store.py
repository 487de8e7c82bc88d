"""Which database the API reads: the serving store, resolved in this one place.

Why a separate store: a Spark warehouse answers a query in about 0.3 s, and a busy
warehouse of any kind is better kept away from the API's millisecond reads. With
``DAYBOOK_SERVING_URL`` set (a PostgreSQL or DuckDB URL), every build publishes the
marts the API reads into that database (``daybook.publishers.StorePublisher``) and the
API, its token store and ``daybook token`` use it. Unset, the store is the warehouse
itself, as before: DuckDB serves snapshots of its build file, PostgreSQL its tables.

A serving URL naming the warehouse itself is refused: publishing would replace the
marts dbt builds incrementally with copies of themselves.
"""

from __future__ import annotations

import os

import click

from daybook.config import ConfigError, Warehouse, parse_database_url

SERVING_URL_ENV = "DAYBOOK_SERVING_URL"
STORE_BACKENDS = ("duckdb", "postgres")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


class ServingStoreError(ConfigError, click.ClickException):
    """``DAYBOOK_SERVING_URL`` cannot be used as a serving store; the message says why.

    A ``ClickException`` too, so every command prints it as one line (``Error: ...``,
    exit code 1) instead of a traceback."""

    def __init__(self, message: str) -> None:
        ConfigError.__init__(self, message)
        click.ClickException.__init__(self, message)


def serving_url() -> str | None:
    """``DAYBOOK_SERVING_URL`` (blank counts as unset)."""
    value = os.environ.get(SERVING_URL_ENV, "").strip()
    return value or None


def separate_store(warehouse: Warehouse, url: str | None = None) -> Warehouse | None:
    """The serving store named by ``url`` (default ``DAYBOOK_SERVING_URL``), or None when
    the API reads the warehouse itself. Raises :class:`ServingStoreError` for a URL that
    is not PostgreSQL or DuckDB, or that names the warehouse."""
    url = url if url is not None else serving_url()
    if not url:
        return None
    try:
        store = parse_database_url(url)
    except ConfigError:
        store = None
    if store is None or store.backend not in STORE_BACKENDS:
        raise ServingStoreError(
            f"{SERVING_URL_ENV} {url!r} is not a serving store: use a "
            "PostgreSQL database (postgresql://user@host:port/dbname) or a DuckDB file "
            "(duckdb:///path/to/serving.duckdb)"
        )
    if same_database(store, warehouse):
        raise ServingStoreError(
            f"{SERVING_URL_ENV} {url!r} names the warehouse itself "
            f"(DAYBOOK_DATABASE_URL {warehouse.url!r}): point it at another database or "
            "file, or unset it to serve from the warehouse"
        )
    return store


def serving_store(warehouse: Warehouse) -> Warehouse:
    """The database the API reads for ``warehouse``: the separate store, else the warehouse."""
    return separate_store(warehouse) or warehouse


def database_identity(warehouse: Warehouse) -> str:
    """The database a location names, the same under any spelling of its URL and without
    its password: a DuckDB file's resolved path, a PostgreSQL server and database name
    (``localhost`` and ``127.0.0.1`` one host), else the URL."""
    if warehouse.backend == "duckdb":
        assert warehouse.duckdb_path is not None
        return f"duckdb {warehouse.duckdb_path.resolve()}"
    if warehouse.backend == "postgres":
        host = "127.0.0.1" if warehouse.host.lower() in _LOCAL_HOSTS else warehouse.host.lower()
        return f"postgres {host}:{warehouse.port}/{warehouse.dbname}"
    return warehouse.url


def same_database(first: Warehouse, second: Warehouse) -> bool:
    """Whether two locations are one database (:func:`database_identity`)."""
    return database_identity(first) == database_identity(second)
