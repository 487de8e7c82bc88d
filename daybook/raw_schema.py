"""The contract's ``raw`` input tables (section 1): names, columns and portable types.

This is the single Python source of truth for the raw layout: the loader
checks file headers against it, the generator writes it, and the tests build
their reference computation from it.

Counts are stored as double precision, not integers, on purpose: the contract
makes "a count that is not an integer >= 0" a *data* problem (the heartbeat is
quarantined with a reason), not a *file* problem, so ``2.5`` and ``-1`` must
load. Text in a count column cannot be represented and refuses the file.

Ids are lowercase canonical UUIDs (contract section 1). An entity row whose
id, or whose client's id, is anything else is refused at load
(``RawTable.canonical_ids``): the API reads ids lowercased, so such an entity
could never be served. A heartbeat naming such an id is kept and quarantined
as naming an unknown client, user or device, which is what it does.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"

ID = "varchar"
TEXT = "varchar"
TIMESTAMP = "timestamp"
COUNT = "double precision"
# A lowercase canonical UUID: 8-4-4-4-12 hexadecimal digits (RFC 9562's text form).
CANONICAL_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The first and last instants of the years 1 to 9999: what Python's datetime and Spark hold
# (DuckDB and PostgreSQL hold more). The loader refuses others; a received time outside
# them written straight into raw is left out of the freshness times Python reads.
FIRST_INSTANT, LAST_INSTANT = "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999"


def within_years(timestamp: str) -> str:
    """SQL (DuckDB, PostgreSQL and Spark alike): ``timestamp`` lies in the years 1 to 9999."""
    return (
        f"{timestamp} between cast('{FIRST_INSTANT}' as timestamp) "
        f"and cast('{LAST_INSTANT}' as timestamp)"
    )


def newest_received_sql(relation: str) -> str:
    """SQL (DuckDB, PostgreSQL and Spark alike): the newest ``received_at_utc`` of
    ``relation`` that Python can read (:func:`within_years`)."""
    return f"select max(received_at_utc) from {relation} where {within_years('received_at_utc')}"


SOURCE_COUNT_COLUMNS: tuple[str, ...] = (
    "chrome_activity_count",
    "edge_activity_count",
    "firefox_activity_count",
    "desktop_activity_count",
    "web_accessibility_activity_count",
)


@dataclass(frozen=True)
class RawTable:
    """One raw table: its name, ordered columns with SQL types, and its key.

    ``canonical_ids``: the columns a load refuses unless each value is a
    lowercase canonical UUID (or empty).
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: str
    canonical_ids: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def qualified_name(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"

    def create_sql(self) -> str:
        """Portable ``CREATE TABLE IF NOT EXISTS`` for DuckDB and PostgreSQL."""
        cols = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return f"create table if not exists {self.qualified_name} (\n    {cols}\n)"


RAW_TABLES: dict[str, RawTable] = {
    table.name: table
    for table in (
        RawTable(
            "clients",
            (("client_id", ID), ("name", TEXT), ("timezone", TEXT), ("created_at", TIMESTAMP)),
            key="client_id",
            canonical_ids=("client_id",),
        ),
        RawTable(
            "users",
            (
                ("user_id", ID),
                ("client_id", ID),
                ("email", TEXT),
                ("display_name", TEXT),
                ("created_at", TIMESTAMP),
            ),
            key="user_id",
            canonical_ids=("user_id", "client_id"),
        ),
        RawTable(
            "devices",
            (
                ("device_id", ID),
                ("client_id", ID),
                ("hostname", TEXT),
                ("platform", TEXT),
                ("created_at", TIMESTAMP),
            ),
            key="device_id",
            canonical_ids=("device_id", "client_id"),
        ),
        RawTable(
            "heartbeats",
            (
                ("heartbeat_id", ID),
                ("client_id", ID),
                ("user_id", ID),
                ("device_id", ID),
                ("generated_at_utc", TIMESTAMP),
                ("received_at_utc", TIMESTAMP),
                *((column, COUNT) for column in SOURCE_COUNT_COLUMNS),
                ("total_activity_count", COUNT),
            ),
            key="heartbeat_id",
        ),
    )
}


def raw_table(name: str) -> RawTable:
    """The raw table called ``name`` (``heartbeats`` or ``raw.heartbeats``), or a clear error."""
    short = name.removeprefix(f"{RAW_SCHEMA}.")
    try:
        return RAW_TABLES[short]
    except KeyError:
        valid = ", ".join(RAW_TABLES)
        raise ValueError(f"Unknown raw table {name!r}. Valid tables: {valid}") from None
