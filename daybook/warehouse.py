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
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daybook.config import Warehouse

DUCKDB_CATALOG = "daybook"

# How long a command that writes a DuckDB warehouse (load, build, refresh, publish) waits
# for another process holding the file's lock (DuckDB lets one writing process open it)
# before it gives up; the environment variable overrides it for one run.
LOCK_WAIT_SECONDS = 60.0
LOCK_WAIT_ENV = "DAYBOOK_LOCK_WAIT_SECONDS"
_LOCK_POLL_SECONDS = 0.5
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be opened for a reason outside Daybook: its folder cannot be
    created, or another process held its DuckDB file longer than :func:`lock_wait_seconds`.
    Every command ends on it with its message alone (``daybook.cli_errors``)."""


def lock_wait_seconds() -> float:
    """``DAYBOOK_LOCK_WAIT_SECONDS`` if set (a number >= 0), else :data:`LOCK_WAIT_SECONDS`."""
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    try:
        seconds = float(raw) if raw else LOCK_WAIT_SECONDS
    except ValueError:
        seconds = LOCK_WAIT_SECONDS
    return seconds if seconds >= 0 else LOCK_WAIT_SECONDS


def lock_holder(error: BaseException) -> str | None:
    """Who holds the DuckDB file when ``error`` is DuckDB refusing its lock ("process 1234
    (/usr/bin/python3)"), else None."""
    text = str(error)
    if "could not set lock" not in text.lower() and "conflicting lock" not in text.lower():
        return None
    match = _LOCK_HOLDER.search(text)
    if match is None:
        return "another process"
    return f"process {match['pid']} ({match['program']})"


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
        return DuckDBWarehouseConnection(open_duckdb_waiting(warehouse.duckdb_path))
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


def open_duckdb_waiting(path: Path) -> Any:
    """:func:`open_duckdb_file` read-write, waiting while another process holds the file.

    DuckDB lets one process write a file; a load, build, refresh or publish that finds it
    taken says once which process holds it, waits up to :func:`lock_wait_seconds`, then
    gives up with one line naming the holder (:class:`WarehouseUnavailable`).
    """
    deadline: float | None = None
    wait = lock_wait_seconds()
    while True:
        try:
            return open_duckdb_file(path)
        except Exception as error:  # duckdb.IOException: "Could not set lock on file"
            holder = lock_holder(error)
            if holder is None:
                raise
            if deadline is None:
                deadline = time.monotonic() + wait
                if wait > 0:
                    print(
                        f"waiting for {holder} to release the DuckDB warehouse {path} "
                        f"(up to {wait:g} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            if time.monotonic() >= deadline:
                raise WarehouseUnavailable(
                    f"the DuckDB warehouse {path} is held by {holder}, which did not release "
                    f"it within {wait:g} s (DuckDB lets one process write the file): try "
                    "again once it is done"
                ) from None
            time.sleep(_LOCK_POLL_SECONDS)


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
