"""Before the first build: the ``raw`` schema and the contract's four raw tables.

dbt's sources must exist before the models can be built, so a build on an empty
warehouse produces empty marts instead of failing.
"""

from __future__ import annotations

from daybook.config import Warehouse
from daybook.raw_schema import RAW_SCHEMA, RAW_TABLES, RawTable
from daybook.warehouse import connection


def ensure_raw_tables(warehouse: Warehouse) -> None:
    """Create the ``raw`` schema and the contract's four raw tables when missing.

    On Spark with the loader's own DDL (parquet, ``TIMESTAMP_NTZ``; Spark reads neither
    ``double precision`` nor a bare ``varchar``), so a later load finds the same tables.
    """
    create_sql = RawTable.create_sql
    if warehouse.backend == "spark":
        from daybook.load.spark_sql import create_raw_sql as create_sql
    with connection(warehouse) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in RAW_TABLES.values():
            con.execute(create_sql(table))
        con.commit()
