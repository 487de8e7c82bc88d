"""Opening DB-API connections to the configured warehouse.

One function hides the two drivers so that loaders, checks and the API speak
to DuckDB and PostgreSQL through the same small surface.

A DuckDB warehouse file is always attached under one fixed catalog name,
``daybook`` (``DUCKDB_CATALOG``), whatever the file is called. Why: DuckDB
names a file's catalog after the file (``main.duckdb`` becomes ``main_db``,
``raw.duckdb`` becomes ``raw``), so some names collided with the schemas
``main`` and ``raw`` ("Catalog main does not exist", "Ambiguous reference to
catalog or schema raw"), and the views dbt writes name their catalog, so they
only worked under the name they were built with. Every opener (this module,
dbt's profile, the data checks) attaches the file the same way: an in-memory
DuckDB instance named after the file, shared by the connections of one process
like a file opened directly, with the file attached as ``daybook`` and used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daybook.config import Warehouse

DUCKDB_CATALOG = "daybook"


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be opened for a reason outside Daybook: its folder cannot be
    created. Every command ends on it with its message alone (``daybook.cli_errors``)."""


# The memory limit of the DuckDB instance a process opens on a warehouse file: dbt's build
# or refresh (the profile sets it from the same variable), the load, the snapshot publish,
# the checks. Above it DuckDB spills to its temp_directory (beside the file,
# ``duckdb_config``) instead of growing. It bounds DuckDB's buffer pool, not the process:
# dbt, Python and DuckDB's allocations outside its buffer manager come on top. Issue 14
# bounds a whole build at 4 GB (a build must succeed on an 8 GB machine); measured at 25M
# heartbeats, "4GB" peaked at 4,545 MiB resident and "3GB" at 3,456 MiB (about 11% more
# CPU, for the spilling). Without it DuckDB takes 80% of the machine: at 100M heartbeats
# the snapshot publish after the build (it sorts the dense facts) and the load peaked at
# 5.6 and 5.2 GB. The environment variable overrides it for one run.
DUCKDB_MEMORY_LIMIT = "3GB"
DUCKDB_MEMORY_LIMIT_ENV = "DAYBOOK_DUCKDB_MEMORY_LIMIT"


def duckdb_memory_limit() -> str:
    """``DAYBOOK_DUCKDB_MEMORY_LIMIT`` if set, else :data:`DUCKDB_MEMORY_LIMIT`."""
    return os.environ.get(DUCKDB_MEMORY_LIMIT_ENV) or DUCKDB_MEMORY_LIMIT


def connect(warehouse: Warehouse, *, read_only: bool = False) -> Any:
    """A new DB-API connection (``duckdb`` or ``psycopg``); the caller closes it.

    PostgreSQL connections are returned with autocommit off, so a caller's
    work is one transaction until it commits. Spark (``sc://``) gets the small DB-API
    surface of ``daybook.spark.dbapi`` (qmark parameters, no transactions).
    """
    if warehouse.backend == "spark":
        from daybook.spark.dbapi import connect as connect_spark

        return connect_spark(warehouse.url)
    if warehouse.backend == "duckdb":
        assert warehouse.duckdb_path is not None
        if read_only:
            return DuckDBWarehouseConnection(open_duckdb_file(warehouse.duckdb_path, True))
        make_folder(warehouse.duckdb_path.parent, "the DuckDB warehouse")
        return DuckDBWarehouseConnection(open_duckdb_file(warehouse.duckdb_path))
    import psycopg

    connection = psycopg.connect(warehouse.pg_conninfo)
    if read_only:
        connection.read_only = True
    return connection


def duckdb_instance(path: Path, read_only: bool = False, purpose: str = "") -> str:
    """The name of the in-memory DuckDB instance that attaches ``path`` in this process.

    Connections with the same name share one instance (and so see each other's
    committed work, like connections to a file opened directly); read-only ones
    get their own, as DuckDB opens a file either read-write or read-only.
    """
    digest = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    mode = "ro" if read_only else "rw"
    return f":memory:daybook-{digest}-{mode}{'-' + purpose if purpose else ''}"


def duckdb_config(path: Path) -> dict[str, str]:
    """Instance settings: spill to ``<file>.tmp``, beside the file, as DuckDB does for a file."""
    return {"temp_directory": f"{Path(path).resolve()}.tmp"}


def use_duckdb_file(con: Any, path: Path, read_only: bool = False) -> None:
    """Attach ``path`` as ``DUCKDB_CATALOG`` (once per instance) and make it this connection's."""
    quoted = str(Path(path).resolve()).replace("'", "''")
    options = " (read_only)" if read_only else ""
    con.execute(f"attach if not exists '{quoted}' as {DUCKDB_CATALOG}{options}")
    con.execute(f"use {DUCKDB_CATALOG}")


def open_duckdb_file(path: Path, read_only: bool = False) -> Any:
    """A raw ``duckdb`` connection with the warehouse file ``path`` attached and in use,
    its instance under :func:`duckdb_memory_limit` (set, not configured: dbt's profile sets
    it the same way on the instance it shares with this process's connections)."""
    import duckdb

    con = duckdb.connect(duckdb_instance(path, read_only), config=duckdb_config(path))
    try:
        limit = duckdb_memory_limit().replace("'", "''")
        con.execute(f"set memory_limit = '{limit}'")
        use_duckdb_file(con, path, read_only)
    except BaseException:
        con.close()
        raise
    return con


def make_folder(folder: Path, purpose: str) -> None:
    """Create ``folder`` (and its parents) when missing; one line when it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = "a file is in the way"
        raise WarehouseUnavailable(
            f"cannot create the folder {folder} for {purpose}: {reason}"
        ) from None


def duckdb_profile_env(path: Path) -> dict[str, str]:
    """Variables ``dbt_project/profiles/profiles.yml`` reads to attach the file the same way."""
    return {
        "DAYBOOK_DUCKDB_PATH": str(Path(path).resolve()),
        "DAYBOOK_DUCKDB_INSTANCE": duckdb_instance(path),
        "DAYBOOK_DUCKDB_TEMP_DIRECTORY": duckdb_config(path)["temp_directory"],
        DUCKDB_MEMORY_LIMIT_ENV: duckdb_memory_limit(),
    }


class DuckDBWarehouseConnection:
    """A DuckDB connection whose cursors read the warehouse catalog too.

    ``cursor()`` opens a new DuckDB connection to the same instance, which would
    start in the instance's in-memory catalog; this one switches it to the
    warehouse. Everything else is the wrapped connection's.
    """

    def __init__(self, con: Any) -> None:
        self._con = con

    def cursor(self) -> Any:
        cursor = self._con.cursor()
        cursor.execute(f"use {DUCKDB_CATALOG}")
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __enter__(self) -> DuckDBWarehouseConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


@contextmanager
def connection(warehouse: Warehouse, *, read_only: bool = False) -> Iterator[Any]:
    """``connect`` as a context manager that always closes."""
    con = connect(warehouse, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
