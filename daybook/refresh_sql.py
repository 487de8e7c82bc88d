"""The refresh's queries, written once and rendered for each warehouse's SQL dialect.

Why one text: measuring arrivals and fingerprinting raw run on DuckDB, PostgreSQL and
Spark, and branches per backend drift apart. The queries below are DuckDB SQL that
sqlglot transpiles to the warehouse's dialect (``Warehouse.dialect``): ``?`` becomes
psycopg's ``%s`` on PostgreSQL, and the local day
``cast((ts at time zone 'UTC') at time zone zone as date)`` becomes
``from_utc_timestamp`` on Spark (correct there because every Daybook Spark session runs
in UTC: ``daybook.spark.session.SESSION_CONF``; the dbt macro ``spark__local_timestamp``
relies on the same).

What no transpiler can translate is each database's own vocabulary: a hash of a whole row
(:data:`ROW_HASH`) and whether it knows a time zone (:data:`VALID_ZONE`). Those are one
expression per dialect, parsed in that dialect and put in place of a named placeholder
column of the common tree.
The received-time bound is bound as ISO text and cast in SQL, so no client library or
session zone moves it (Spark reads a naive Python datetime in the client's local zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from daybook.raw_schema import newest_received_sql, within_years

# The dialect the queries below are written in.
SOURCE_DIALECT = "duckdb"

# An order-independent fingerprint sums one hash per row; each dialect's hash of the row
# aliased ``entity``, as a number whose sum cannot overflow (DuckDB's UBIGINT sums to a
# HUGEINT, PostgreSQL's bigint to a numeric; Spark's bigint sum would overflow, and fail
# in ANSI mode, so it is summed as a decimal).
ROW_HASH: dict[str, str] = {
    "duckdb": "hash(entity)",
    "postgres": "hashtextextended(entity::text, 0)",
    "spark": "cast(xxhash64(entity.*) as decimal(38, 0))",
}

# A client's ``timezone`` when the database knows the zone by exactly that name, else null:
# a client with an unknown zone has its heartbeats quarantined, and must give them no local
# day rather than fail the count ("Unknown TimeZone"). Converting with a null zone gives
# null on every backend. The days counted here only report a refresh's progress, so this is
# the catalogue's plain reading; the build's ``valid_timezone`` also refuses the few names
# only one catalogue holds and converts a few by other rules (docs/ARCHITECTURE.md, "A zone
# is read by the tz database's rules"), which can move such a client's count by a day.
VALID_ZONE: dict[str, str] = {
    "duckdb": ("case when timezone in (select name from pg_timezone_names()) then timezone end"),
    "postgres": (
        "case when timezone in (select name from pg_catalog.pg_timezone_names) then timezone end"
    ),
    "spark": (
        "case when try_reflect('java.time.ZoneId', 'of', timezone) = timezone "
        "and timezone rlike '^[A-Za-z]' then timezone end"
    ),
}

_LOCAL_DAY = (
    "cast((heartbeats.generated_at_utc at time zone 'UTC') at time zone clients.timezone as date)"
)

# Heartbeats received after a bound (or all of them), the client-local days they touch
# and the newest received time (within the years 1 to 9999: Python reads it).
# ``valid_zone``: :data:`VALID_ZONE`'s expression. One zone per client (raw may repeat a
# client: rows written straight into it), so a heartbeat is counted once; should the
# repeats disagree, the models' choice (the earliest created) may touch another day than
# the one counted here, never another count.
# (The zone is checked in a projection of its own: Spark's check, ``try_reflect``, is
# nondeterministic, which Spark refuses inside an aggregate function.)
_ARRIVALS = f"""
select count(*), count(distinct local_day), min(local_day), max(local_day),
    max(case when {within_years("received_at_utc")} then received_at_utc end)
from (
    select {_LOCAL_DAY} as local_day, heartbeats.received_at_utc
    from raw.heartbeats as heartbeats
    left join (
        select client_id, min(timezone) as timezone
        from (select client_id, valid_zone as timezone from raw.clients) as checked
        group by client_id
    ) as clients
        on clients.client_id = heartbeats.client_id
    {{where}}
) as arrived
"""
# (a received time past year 9999, written straight into raw, is no arrival: it would be
# one at every cycle, as the newest received time recorded leaves it out)
_SINCE = (
    "where heartbeats.received_at_utc > cast(? as timestamp) "
    f"and {within_years('heartbeats.received_at_utc')}"
)

_ENTITY_FINGERPRINT = (
    "select cast(count(*) as varchar) || ':' || coalesce(cast(sum(row_hash) as varchar), '') "
    "from raw.{table} as entity"
)


def _dialect(backend: str) -> str:
    if backend not in ROW_HASH:
        raise ValueError(f"no refresh SQL for the {backend!r} backend")
    return backend


@lru_cache(maxsize=16)
def arrivals_sql(dialect: str, bounded: bool) -> str:
    """The arrivals query in ``dialect``; ``bounded``: only rows received after the one
    parameter (:func:`since_parameters`)."""
    sql = _ARRIVALS.format(where=_SINCE if bounded else "")
    return _render(sql, _dialect(dialect), valid_zone=VALID_ZONE[dialect])


def since_parameters(since: datetime | None) -> list[Any]:
    """The arrivals query's parameters: the bound as naive UTC ISO text, or none."""
    if since is None:
        return []
    return [since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")]


@lru_cache(maxsize=16)
def fingerprints_sql(dialect: str, tables: tuple[str, ...]) -> str:
    """One row: the number of raw heartbeat rows, then for each entity table of ``tables``
    ``"<rows>:<sum of row hashes>"`` (empty sum for an empty table)."""
    parts = ["(select count(*) from raw.heartbeats)"]
    for table in tables:
        if not table.isidentifier():
            raise ValueError(f"not a raw table name: {table!r}")
        parts.append(f"({_ENTITY_FINGERPRINT.format(table=table)})")
    return _render(f"select {', '.join(parts)}", _dialect(dialect), row_hash=ROW_HASH[dialect])


def _render(sql: str, dialect: str, **pieces: str) -> str:
    """``sql`` (DuckDB SQL) in ``dialect``, each column named like a key of ``pieces``
    replaced by that piece (SQL of ``dialect``)."""
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    parsed = {name: sqlglot.parse_one(piece, read=dialect) for name, piece in pieces.items()}
    for column in list(tree.find_all(exp.Column)):
        if not column.table and column.name in parsed:
            column.replace(parsed[column.name].copy())
    return tree.sql(dialect=dialect)


def spark_newest_included(con: Any, sources: Sequence[tuple[str, str]]) -> datetime | None:
    """Spark's ``daybook.serving.newest_included``: max ``received_at_utc`` of the first of
    ``sources`` (schema, table) that exists, naive UTC; None when none does.

    Spark has no ``to_regclass`` or information schema to ask, and ``show tables in`` a
    missing database fails, so the database is looked up first."""
    cursor = con.cursor()
    for schema, table in sources:
        if not cursor.execute("show databases like ?", [schema]).fetchall():
            continue
        if not cursor.execute(f"show tables in `{schema}` like ?", [table]).fetchall():
            continue
        name = exp.table_(table, db=schema, quoted=True).sql(dialect="spark")
        row = cursor.execute(newest_received_sql(name)).fetchone()
        return row[0] if row else None
    return None
