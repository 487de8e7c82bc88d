"""Before the first build: the ``raw`` schema and the contract's four raw tables.

dbt's sources must exist before the models can be built, so a build on an empty
warehouse produces empty marts instead of failing.
"""

from __future__ import annotations

from daybook.config import Warehouse
from daybook.raw_schema import RAW_SCHEMA, RAW_TABLES
from daybook.warehouse import connection


def ensure_raw_tables(warehouse: Warehouse) -> None:
    """Create the ``raw`` schema and the contract's four raw tables when missing."""
    with connection(warehouse) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in RAW_TABLES.values():
            con.execute(table.create_sql())
        con.commit()
