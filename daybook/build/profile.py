"""The dbt profile's inputs for a warehouse: ``dbt_project/profiles/profiles.yml`` reads
only environment variables, and this module is where they are set, one function per
backend (a third backend, such as Spark, adds its own here and a target in the profile).
A DuckDB build's memory limit is the warehouse's (``daybook.warehouse.duckdb_memory_limit``):
every process that opens the file runs under the same bound.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from daybook.config import Warehouse, project_dir
from daybook.warehouse import duckdb_memory_limit, duckdb_profile_env

PROFILE_SUBDIR = Path("dbt_project") / "profiles"


def profiles_dir() -> Path:
    return project_dir() / PROFILE_SUBDIR


def duckdb_build_settings() -> dict[str, str]:
    """The DuckDB settings a build's session runs under (the profile sets them from
    :func:`dbt_env`); the bench's floor sets the same ones, so both run capped alike."""
    return {"memory_limit": duckdb_memory_limit()}


def _duckdb_env(warehouse: Warehouse) -> dict[str, str]:
    assert warehouse.duckdb_path is not None
    return duckdb_profile_env(warehouse.duckdb_path)  # the file, attached as `daybook`


def _postgres_env(warehouse: Warehouse) -> dict[str, str]:
    return {
        "DAYBOOK_PG_HOST": warehouse.host,
        "DAYBOOK_PG_PORT": str(warehouse.port),
        "DAYBOOK_PG_USER": warehouse.user,
        "DAYBOOK_PG_DBNAME": warehouse.dbname,
        # DBT_ENV_SECRET_ values are scrubbed from dbt's logs and messages.
        "DBT_ENV_SECRET_DAYBOOK_PG_PASSWORD": warehouse.password,
    }


def _spark_env(warehouse: Warehouse) -> dict[str, str]:
    """dbt-spark's ``session`` method dials ``SPARK_REMOTE``; the helper also stops a
    session left from another server and lists pyspark's own variable, so the invocation's
    environment guard removes it afterwards (``daybook.spark.session``)."""
    from daybook.spark.session import dbt_session_environment

    return dbt_session_environment(warehouse.url)


BACKEND_ENV: dict[str, Callable[[Warehouse], dict[str, str]]] = {
    "duckdb": _duckdb_env,
    "postgres": _postgres_env,
    "spark": _spark_env,
}


def dbt_env(warehouse: Warehouse) -> dict[str, str]:
    """Environment variables ``dbt_project/profiles/profiles.yml`` reads for this warehouse."""
    return {"DAYBOOK_DBT_TARGET": warehouse.backend} | BACKEND_ENV[warehouse.backend](warehouse)
