"""All warehouse reads of the API, behind one small interface (``Reader``).

``open_reader`` picks the backend's reader. PostgreSQL: a psycopg 3 connection pool of
read-only, autocommit connections (psycopg prepares statements it sees repeatedly).
DuckDB (:mod:`api.duckdb_reader`): the newest published snapshot (``daybook.serving``),
never the build file, one cursor per thread as DuckDB's Python API requires for
concurrent use; nothing before the first publish. Spark: its published snapshot
(``daybook.serving.spark_reader``). Request values only ever travel as bound parameters.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from api.reader_errors import NothingPublished
from daybook.config import Warehouse

# Written by the dbt on-run-end hook dbt_project/macros/record_build.sql.
BUILD_MARKER_SQL = "select invocation_id from daybook_meta.build_marker"
MARKER_RETRY_SECONDS = 5.0  # how long a missing marker keeps requests on separate queries


@dataclass(frozen=True)
class Guard:
    """A one-row lookup that decides whether a query's rows may be read, for
    :meth:`PostgresReader.fetch_all_guarded`.

    ``sql`` selects at most one row of ``width`` columns (named parameters only);
    ``condition`` is a boolean expression over that row, written against the alias
    ``guard``, true only when the rows may be read.
    """

    sql: str
    width: int
    condition: str


def guarded_sql(guard: Guard, sql: str, width: int) -> str:
    """One statement for :meth:`PostgresReader.fetch_all_guarded`.

    Its first column tells the parts apart: ``0`` for the one head row (the
    build marker's version, then the guard's row, left joined so the head
    exists whatever is missing), ``1`` for each row of
    ``sql``, read only if the guard's condition holds. The uncorrelated
    ``exists`` is a one-time filter in PostgreSQL's plan, so a refused caller
    costs no read of the data.
    """
    head_nulls = ", ".join(["null"] * guard.width)
    body_nulls = ", ".join(["null"] * width)
    return (
        f"with guard as ({guard.sql})"
        f" select 0, marker.invocation_id, guard.*, {body_nulls}"
        " from (select 1) as one"
        " left join daybook_meta.build_marker as marker on marker.marker_id = 1"
        " left join guard on true"
        f" union all select 1, null, {head_nulls}, body.* from ({sql}) as body"
        f" where exists (select 1 from guard where {guard.condition})"
    )


class Reader(Protocol):
    """What the API needs from a warehouse connection."""

    dialect: str

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]: ...

    def data_version(self) -> Hashable | None:
        """What identifies the data the next query will read, or None if nothing does.

        Answers are cached under it (``api.answer_cache``); it must change whenever
        the data may have, and be read before the query it stands for.
        """
        ...

    def close(self) -> None: ...


class PostgresReader:
    """A pool of read-only, autocommit psycopg connections."""

    dialect = "postgres"

    def __init__(
        self, warehouse: Warehouse, *, max_size: int = 8, statement_timeout: float = 0
    ) -> None:
        """``statement_timeout``: seconds a statement may run before PostgreSQL cancels it
        (0: no limit), so that a read stuck behind a lock fails instead of holding a thread."""
        from psycopg_pool import ConnectionPool

        options = "-c default_transaction_read_only=on"
        if statement_timeout > 0:
            options += f" -c statement_timeout={max(1, round(statement_timeout * 1000))}"
        self.pool = ConnectionPool(
            warehouse.pg_conninfo,
            min_size=1,
            max_size=max(1, max_size),
            timeout=10,
            name="daybook-api",
            kwargs={"autocommit": True, "options": options},
            open=True,
        )
        self._combined_retry_at = 0.0
        self._guarded: dict[tuple[Guard, str], str] = {}

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        from psycopg.errors import UndefinedTable

        try:
            with self.pool.connection() as con:
                return con.execute(sql, parameters).fetchall()
        except UndefinedTable:
            if self.data_version() is None:  # no build has run: no marts to read
                raise NothingPublished(
                    "No data has been built yet: the API answers once `daybook build` has "
                    "built the marts"
                ) from None
            raise

    def data_version(self) -> Hashable | None:
        """The stamp of the last dbt run or build (``record_build`` hook), None before one."""
        from psycopg.errors import UndefinedTable

        with self.pool.connection() as con:
            try:
                row = con.execute(BUILD_MARKER_SQL).fetchone()
            except UndefinedTable:
                return None
        return row[0] if row else None

    def fetch_one_with_marker(
        self, sql: str, parameters: Sequence[Any]
    ) -> tuple[tuple | None, Hashable | None] | None:
        """The first row of ``sql`` (or None) and the data version, in one round trip;
        None when the build marker or a table of ``sql`` is missing (the caller then asks
        separately; the combined form is retried a few seconds later).

        The API authenticates every request this way: its token and the version its
        answer is cached under cost one round trip together, not two.
        """
        from psycopg.errors import UndefinedColumn, UndefinedTable

        if time.monotonic() < self._combined_retry_at:
            return None
        combined = (
            "select marker.invocation_id, lookup.*"
            " from (select 1) as one"
            " left join daybook_meta.build_marker as marker on marker.marker_id = 1"
            f" left join lateral ({sql}) as lookup on true"
        )
        try:
            with self.pool.connection() as con:
                row = con.execute(combined, parameters).fetchone()
        except (UndefinedTable, UndefinedColumn):
            self._combined_retry_at = time.monotonic() + MARKER_RETRY_SECONDS
            return None
        assert row is not None  # the outer (select 1) always gives one row
        version, found = row[0], row[1:]
        return (None if found[0] is None else tuple(found)), version

    def fetch_all_guarded(
        self, guard: Guard, sql: str, width: int, parameters: dict[str, Any]
    ) -> tuple[tuple | None, list[tuple], Hashable | None] | None:
        """In one statement: the guard's row (or None), the rows of ``sql`` if the guard
        lets them through (else none) and the data version; None
        when the build marker or a table is missing (the caller then asks separately).

        The API answers a first-time question this way: the caller's token, the version
        and the series cost one round trip, and the series is computed only for a token
        that may read it. ``width`` is the number of columns of ``sql``; ``parameters``
        are named, the guard's and the query's together.
        """
        from psycopg.errors import UndefinedColumn, UndefinedTable

        if time.monotonic() < self._combined_retry_at:
            return None
        statement = self._guarded.get((guard, sql))
        if statement is None:
            statement = self._guarded.setdefault((guard, sql), guarded_sql(guard, sql, width))
        try:
            with self.pool.connection() as con:
                rows = con.execute(statement, parameters, prepare=True).fetchall()
        except (UndefinedTable, UndefinedColumn):
            self._combined_retry_at = time.monotonic() + MARKER_RETRY_SECONDS
            return None
        head = next(row for row in rows if row[0] == 0)  # exactly one: the outer (select 1)
        version, found = head[1], head[2 : 2 + guard.width]
        start = 2 + guard.width
        body = [row[start:] for row in rows if row[0] == 1]
        return (None if found[0] is None else tuple(found)), body, version

    def connection(self) -> AbstractContextManager[Any]:
        """A pooled connection (the token store reads through it too)."""
        return self.pool.connection()

    def close(self) -> None:
        self.pool.close()


def open_reader(warehouse: Warehouse, *, max_size: int = 8, statement_timeout: float = 0) -> Reader:
    """The reader of a warehouse's backend (``statement_timeout``: PostgreSQL's, in seconds;
    DuckDB's reads wait on no lock: a snapshot file is never written while read)."""
    if warehouse.backend == "duckdb":
        from api.duckdb_reader import DuckDBReader

        return DuckDBReader(warehouse)
    if warehouse.backend == "spark":
        from daybook.serving.spark_reader import SparkSnapshotReader

        return SparkSnapshotReader(warehouse)
    return PostgresReader(warehouse, max_size=max_size, statement_timeout=statement_timeout)


def as_day(value: date | datetime | str) -> date:
    """A bucket start as a date, whatever the driver returned."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
