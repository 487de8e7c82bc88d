"""The dbt profile's inputs for a warehouse: ``dbt_project/profiles/profiles.yml`` reads
only environment variables, and this module is where they are set, one function per
backend (a third backend, such as Spark, adds its own here and a target in the profile).

It also holds the one setting that bounds a DuckDB build's memory,
:data:`DUCKDB_BUILD_MEMORY_LIMIT`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from daybook.config import Warehouse, project_dir
from daybook.warehouse import duckdb_profile_env

PROFILE_SUBDIR = Path("dbt_project") / "profiles"

# The memory limit of dbt's DuckDB session during a build or refresh, as DuckDB writes
# it ("3GB", "1500MB"). Above it DuckDB spills to its temp_directory (beside the
# warehouse file, ``daybook.warehouse.duckdb_config``) instead of growing. It bounds
# DuckDB's buffer pool, not the process: dbt, Python and DuckDB's allocations outside
# its buffer manager come on top. Issue 14 bounds the whole build at 4 GB (a build
# must succeed on an 8 GB machine); measured at 25M heartbeats, "4GB" peaked at
# 4,545 MiB resident and "3GB" at 3,456 MiB (about 11% more CPU, for the spilling);
# it used to be half the machine (12 GB here). The environment variable below
# overrides it for one run.
DUCKDB_BUILD_MEMORY_LIMIT = "3GB"
DUCKDB_BUILD_MEMORY_LIMIT_ENV = "DAYBOOK_DUCKDB_MEMORY_LIMIT"


def profiles_dir() -> Path:
    return project_dir() / PROFILE_SUBDIR


def duckdb_build_memory_limit() -> str:
    """The memory limit a DuckDB build runs under: ``DAYBOOK_DUCKDB_MEMORY_LIMIT`` if
    set, else :data:`DUCKDB_BUILD_MEMORY_LIMIT`."""
    return os.environ.get(DUCKDB_BUILD_MEMORY_LIMIT_ENV) or DUCKDB_BUILD_MEMORY_LIMIT


def duckdb_build_settings() -> dict[str, str]:
    """The DuckDB settings a build's session runs under (the profile sets them from
    :func:`dbt_env`); the bench's floor sets the same ones, so both run capped alike."""
    return {"memory_limit": duckdb_build_memory_limit()}


def _duckdb_env(warehouse: Warehouse) -> dict[str, str]:
    assert warehouse.duckdb_path is not None
    return duckdb_profile_env(warehouse.duckdb_path) | {  # the file, attached as `daybook`
        DUCKDB_BUILD_MEMORY_LIMIT_ENV: duckdb_build_memory_limit()
    }


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
