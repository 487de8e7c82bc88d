"""The warehouses the compiler targets, and how each one's Python driver takes parameters.

A request binds four values: ``tenant_id``, ``entity_id``, ``start_date`` and
``end_date``. Each dialect gets the marker style its usual driver accepts, so a
compiled query can be executed as is:

| dialect | marker | parameters() returns | driver |
|---|---|---|---|
| duckdb | ``$tenant_id`` | dict | duckdb ``execute(sql, dict)`` |
| postgres | ``%(tenant_id)s`` | dict | psycopg 3 |
| snowflake | ``:1`` .. ``:4`` | tuple | snowflake-connector, ``paramstyle="numeric"`` |
| bigquery | ``@tenant_id`` | dict | google-cloud-bigquery (wrap as ``ScalarQueryParameter``) |
| spark, databricks | ``:tenant_id`` | dict | ``spark.sql(sql, args=...)``, databricks-sql |
| trino | ``?`` | tuple, one value per marker | trino-python-client |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daybook.semantic.errors import SemanticError

ParamStyle = Literal["named", "numeric", "qmark"]
# The request values every metric query binds, in this order for numeric markers.
PARAMETER_NAMES: tuple[str, ...] = ("tenant_id", "entity_id", "start_date", "end_date")


@dataclass(frozen=True)
class Dialect:
    """A sqlglot dialect name and its driver's parameter style."""

    name: str
    param_style: ParamStyle


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", "named"),
    "postgres": Dialect("postgres", "named"),
    "snowflake": Dialect("snowflake", "numeric"),
    "bigquery": Dialect("bigquery", "named"),
    "spark": Dialect("spark", "named"),
    "databricks": Dialect("databricks", "named"),
    "trino": Dialect("trino", "qmark"),
}


def get_dialect(name: str) -> Dialect:
    """The named dialect, or a ``SemanticError`` listing the supported ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise SemanticError(
            f"Unknown dialect: {name}. Valid values: {', '.join(DIALECTS)}"
        ) from None
