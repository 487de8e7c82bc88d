"""The Spark SQL of a load into ``raw.*`` on Spark (``daybook.load.to_spark`` runs it).

Spark has no transactions, so a load never changes ``raw`` until every file is read and
checked into a stage table; then one statement (heartbeats) or one swap of table names
(entities) publishes it:

Stages are tables of their own database, ``daybook_load`` (dropped after each call).

- Heartbeats are appended: the staged rows that no loaded row equals in every column
  (null-safe ``<=>``, the other backends' rule in ``daybook.load.merge``), in one
  ``insert into ... select``; a failed insert leaves the table as it was (Spark's job
  commit moves the new files in only when every task succeeded).
- Entities are replaced by key (the row loaded last wins; within one call the last row
  in file order of the last file): the table's new contents are written under another
  name (``raw.<table>__new_<id>``) and swapped in by two renames, so a reader sees the
  old or the new table; between the two renames (milliseconds) the name is missing.

Identifiers are Daybook's own (the contract's column names, generated table names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daybook.raw_schema import COUNT, TIMESTAMP, RawTable
from daybook.spark.literals import timestamp_literal

# the contract's portable types (daybook.raw_schema) in Spark: timestamps are UTC
# instants without a zone, so TIMESTAMP_NTZ
SPARK_TYPES = {"varchar": "STRING", TIMESTAMP: "TIMESTAMP_NTZ", COUNT: "DOUBLE"}
# stages live outside raw, so a refused first load leaves no raw schema or table behind
STAGE_SCHEMA = "daybook_load"
STAGE_VIEW = "_daybook_stage"
LATEST_VIEW = "_daybook_latest"
RECEIVED = "received_at_utc"


def spark_type(sql_type: str) -> str:
    return SPARK_TYPES[sql_type]


def columns_ddl(table: RawTable) -> str:
    return ", ".join(f"`{name}` {spark_type(sql_type)}" for name, sql_type in table.columns)


def column_list(table: RawTable, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}`{name}`" for name in table.column_names)


def create_raw_sql(table: RawTable) -> str:
    return f"create table if not exists {table.qualified_name} ({columns_ddl(table)}) using parquet"


def stage_name(table: RawTable, token: str) -> str:
    return f"{STAGE_SCHEMA}.`stage_{table.name}_{token}`"


def create_stage_sql(table: RawTable, name: str) -> str:
    """The stage: raw columns, plus the file index and row position for entities."""
    tags = "" if table.name == "heartbeats" else ", `_file` INT, `_row` INT"
    return f"create table {name} ({columns_ddl(table)}{tags}) using parquet"


def missing_key_sql(table: RawTable) -> str:
    """The first staged file holding an entity row without its key."""
    return f"select min(`_file`) from {STAGE_VIEW} where `{table.key}` is null"


def repeated_keys_sql(table: RawTable) -> str:
    return f"select count(*) - count(distinct `{table.key}`) from {STAGE_VIEW}"


def latest_view_sql(table: RawTable) -> str:
    """One staged row per key: the last in file order of the last file."""
    return (
        f"create or replace temporary view {LATEST_VIEW} as select {column_list(table)} from "
        f"(select *, row_number() over (partition by `{table.key}` "
        f"order by `_file` desc, `_row` desc) as `_rank` from {STAGE_VIEW}) where `_rank` = 1"
    )


def entity_changes_sql(table: RawTable) -> str:
    """(rows replacing an earlier row with other values, of those moved to another client,
    of those with another time zone), as ``daybook.load.merge.entity_changes_sql``."""
    key = f"`{table.key}`"

    def differs(columns: list[str]) -> str:
        if not columns:
            return "false"
        return " or ".join(f"not (old.`{name}` <=> new.`{name}`)" for name in columns)

    others = [name for name in table.column_names if name != table.key]
    moved = differs(["client_id"]) if table.name != "clients" else "false"
    rezoned = differs(["timezone"]) if table.name == "clients" else "false"
    return (
        "select count(*), count_if(moved), count_if(rezoned) from ("
        f"select new.{key}, bool_or({differs(others)}) as changed, bool_or({moved}) as moved, "
        f"bool_or({rezoned}) as rezoned "
        f"from {LATEST_VIEW} as new join {table.qualified_name} as old on old.{key} = new.{key} "
        f"group by new.{key}) where changed"
    )


def replaced_table_sql(table: RawTable, new_name: str) -> str:
    """The entity table's next contents: rows of keys not staged, then the latest staged rows."""
    key = f"`{table.key}`"
    return (
        f"create table {new_name} using parquet as "
        f"select {column_list(table, 'old')} from {table.qualified_name} as old "
        f"left anti join {LATEST_VIEW} as new on old.{key} = new.{key} "
        f"union all select {column_list(table)} from {LATEST_VIEW}"
    )


@dataclass(frozen=True)
class ReceivedSpan:
    """The staged heartbeats' receipt times: earliest, latest, and whether any is null."""

    first: datetime | None
    last: datetime | None
    has_null: bool


def received_span_sql(stage: str) -> str:
    return (
        f"select min(`{RECEIVED}`), max(`{RECEIVED}`), count_if(`{RECEIVED}` is null) > 0 "
        f"from {stage}"
    )


def append_heartbeats_sql(table: RawTable, stage: str, *, compare: ReceivedSpan | None) -> str:
    """Insert the staged heartbeats no loaded row equals in every column (null-safe).

    A loaded row equal to a staged one has its receipt time, so only loaded rows received
    within the stage's span (or without a receipt time, when the stage has such rows) are
    compared, and that span is written as literals: parquet's min/max statistics then
    skip the history's files and row groups instead of reading every loaded row (a
    delivery of 696 heartbeats took 42 s to load over 25M on ``local[2]``). ``compare``
    is None for a first load (nothing to compare with).
    """
    head = f"insert into {table.qualified_name} ({column_list(table)}) "
    if compare is None:
        return head + f"select {column_list(table)} from {stage}"
    same = " and ".join(f"old.`{name}` <=> new.`{name}`" for name in table.column_names)
    return (
        head + f"select {column_list(table, 'new')} from {stage} as new "
        f"left anti join (select * from {table.qualified_name} "
        f"where {_received_within(compare)}) as old on {same}"
    )


def _received_within(span: ReceivedSpan) -> str:
    terms = []
    if span.first is not None and span.last is not None:
        terms.append(
            f"`{RECEIVED}` between {timestamp_literal(span.first, 'timestamp_ntz')} "
            f"and {timestamp_literal(span.last, 'timestamp_ntz')}"
        )
    if span.has_null:
        terms.append(f"`{RECEIVED}` is null")
    return " or ".join(terms) or "false"
