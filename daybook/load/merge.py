"""SQL that moves a staged load into ``raw.*``: portable across DuckDB and PostgreSQL.

Heartbeats: delivery is at least once, so a re-delivery (same id, later
``received_at_utc``) is data and is kept; only a row identical in every column
(null-safe, via ``except``) to one already present is skipped. Comparing only
against existing rows with the staged ids keeps this cheap on a large table.
Entities: the key identifies the row, so a re-delivered key replaces the old
row (last file of the call wins) and keys stay unique.
"""

from __future__ import annotations

from daybook.raw_schema import RawTable

STAGE = "_daybook_stage"


def column_list(table: RawTable) -> str:
    return ", ".join(f'"{name}"' for name in table.column_names)


def stage_sql(table: RawTable, duck_types: bool) -> str:
    """``create temporary table`` for the stage: the raw columns plus the file index."""
    from daybook.load.reading import duck_type

    columns = ", ".join(
        f'"{name}" {duck_type(sql_type) if duck_types else sql_type}'
        for name, sql_type in table.columns
    )
    return f"create temporary table {STAGE} ({columns}, _file integer)"


def missing_key_sql(table: RawTable) -> str:
    """The first staged file holding an entity row without its key (entities only)."""
    return f'select min(_file) from {STAGE} where "{table.key}" is null'


def merge_statements(table: RawTable) -> list[str]:
    """Statements that add the staged rows to the raw table (the last one is the insert)."""
    cols = column_list(table)
    target = table.qualified_name
    key = f'"{table.key}"'
    if table.name == "heartbeats":
        return [
            f"insert into {target} ({cols}) "
            f"select {cols} from {STAGE} "
            f"except "
            f"select {cols} from {target} as existing "
            f"where existing.{key} in (select {key} from {STAGE}) "
            f"or (existing.{key} is null and exists (select 1 from {STAGE} where {key} is null))"
        ]
    order = ", ".join(f'"{name}" desc' for name in table.column_names if name != table.key)
    return [
        f"delete from {target} where {key} in (select {key} from {STAGE})",
        f"insert into {target} ({cols}) "
        f"select {cols} from ("
        f"select distinct on ({key}) {cols} from {STAGE} "
        f"order by {key}, _file desc, {order}"
        f") as latest",
    ]
