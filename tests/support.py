"""Helpers shared by test modules: PostgreSQL test databases, Spark, and reading tables.

Imported as ``from support import ...`` (``tests/`` is on pytest's path), so
that no test module imports a ``conftest`` by name.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from daybook.config import Warehouse, parse_database_url, project_dir
from daybook.warehouse import connection

# the semantic catalogue the product ships (``semantic/`` at the checkout's root)
SHIPPED_SEMANTIC_DIR = project_dir() / "semantic"

PG_ADMIN_URL = os.environ.get(
    "DAYBOOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(parse_database_url(PG_ADMIN_URL).pg_conninfo, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}"
    if os.environ.get("DAYBOOK_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " and DAYBOOK_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(message)


def spark_available() -> bool:
    """Whether a local Spark Connect server can run here (it needs Java 17)."""
    from daybook.spark.server import java_command

    return java_command() is not None


def require_spark() -> None:
    """Skip without Java, or fail instead when ``DAYBOOK_REQUIRE_SPARK=1`` (CI)."""
    if spark_available():
        return
    message = "Java is not installed, so no local Spark server can run (openjdk-17-jre-headless)"
    if os.environ.get("DAYBOOK_REQUIRE_SPARK") == "1":
        pytest.fail(message + " and DAYBOOK_REQUIRE_SPARK=1", pytrace=False)
    pytest.skip(message)


def reset_spark_warehouse(warehouse: Warehouse) -> Warehouse:
    """Empty the Spark server of ``warehouse`` (every database but ``default`` dropped, every
    table of ``default`` too) and its local state (tokens, dbt artifacts): a fresh warehouse.

    One server serves a whole pytest process, so tests take turns on it: a test that needs
    two Spark warehouses at once cannot have them.
    """
    import shutil

    with connection(warehouse) as con:
        cursor = con.cursor()
        databases = [row[0] for row in cursor.execute("show databases").fetchall()]
        for name in databases:
            if name != "default":
                cursor.execute(f"drop database if exists `{name}` cascade")
        for row in cursor.execute("show tables in default").fetchall():
            _namespace, table, temporary = row
            if temporary:
                continue
            try:
                cursor.execute(f"drop table if exists default.`{table}`")
            except Exception:  # a view: Spark drops it only by that word
                cursor.execute(f"drop view if exists default.`{table}`")
    shutil.rmtree(warehouse.state_dir, ignore_errors=True)
    return warehouse


def create_postgres_database(prefix: str = "daybook_test") -> Warehouse:
    """A new, empty PostgreSQL database; drop it with ``drop_postgres_database``."""
    import psycopg

    admin = parse_database_url(PG_ADMIN_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin.pg_conninfo, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    return parse_database_url(f"postgresql://{admin.user}@{admin.host}:{admin.port}/{name}")


def drop_postgres_database(warehouse: Warehouse) -> None:
    import psycopg

    admin = parse_database_url(PG_ADMIN_URL)
    with psycopg.connect(admin.pg_conninfo, autocommit=True) as con:
        con.execute(f'drop database if exists "{warehouse.dbname}" with (force)')


# built database name -> an untouched clone nobody connects to, usable as a template
# while served apps hold connections to the original
PRISTINE_TEMPLATES: dict[str, str] = {}


def copy_postgres_database(source: Warehouse, prefix: str = "daybook_copy") -> Warehouse:
    """A new database with ``source``'s contents (from its pristine clone when one exists)."""
    import psycopg

    admin = parse_database_url(PG_ADMIN_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    template = PRISTINE_TEMPLATES.get(source.dbname, source.dbname)
    with psycopg.connect(admin.pg_conninfo, autocommit=True) as con:
        con.execute(f'create database "{name}" template "{template}"')
    return parse_database_url(f"postgresql://{admin.user}@{admin.host}:{admin.port}/{name}")


def read_table(warehouse: Warehouse, sql: str) -> list[dict]:
    """Rows of a query as dicts, for comparing with the reference computation."""
    with connection(warehouse, read_only=True) as con:
        cursor = con.cursor()
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def generated_rows(folder: Path, table: str) -> list[dict]:
    """The generated files of ``table`` in ``folder`` as rows, read by DuckDB (not by the
    code under test), timestamps as naive UTC."""
    import duckdb

    files = sorted(str(path) for path in folder.glob(f"{table}*"))
    assert files, f"no generated files for {table} in {folder}"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    reader = "read_parquet" if files[0].endswith(".parquet") else "read_csv_auto"
    cursor = con.execute(f"select * from {reader}({files!r})")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_READABLE_IDS = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-a0b1c2d3e4f5")  # namespace of the test ids
_ENTITY_ID_COLUMNS = ("client_id", "user_id", "device_id")


def as_uuid(readable: str | None) -> str | None:
    """A readable test id (``c-ny``) as the lowercase canonical UUID the loader accepts.

    The same readable id always gives the same UUID; a canonical UUID or an empty id is kept.
    """
    if not readable or _is_canonical(readable):
        return readable
    return str(uuid.uuid5(_READABLE_IDS, readable))


def _is_canonical(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def with_uuid_ids(rows: list[dict]) -> list[dict]:
    """``rows`` with their client, user and device ids as UUIDs (``as_uuid``)."""
    return [
        row | {name: as_uuid(row[name]) for name in _ENTITY_ID_COLUMNS if name in row}
        for row in rows
    ]
