"""SQL that moves a staged load into ``raw.*``: portable across DuckDB and PostgreSQL.

Heartbeats: delivery is at least once, so a re-delivery (same id, later
``received_at_utc``) is data and is kept; only a row identical in every column
(null-safe) to one already present is skipped. The comparison is an
anti-join on (id, received time), null-safe, with the other columns as a
null-safe residual. Each database gets the spelling its planner runs well:
``not exists`` on PostgreSQL (an anti-join through the indexes of
``daybook.load.pg_indexes``), a hashed left join on DuckDB (its ``not exists``
with a residual becomes a slow delim join).
Rows repeated inside the files of one call are all kept, like the files say.

Entities (contract section 1): the key identifies the row, so a re-delivered
key replaces every earlier row with that key: the row loaded last wins. Within
one call the last row in file order of the last file holding the key wins
(the stage records each row's file and position). What changed is counted
before the replacement, so ``daybook load`` can warn about moved entities
and changed time zones.
"""

from __future__ import annotations

from daybook.raw_schema import RawTable

STAGE = "_daybook_stage"
LATEST = "_daybook_latest"


def column_list(table: RawTable) -> str:
    return ", ".join(f'"{name}"' for name in table.column_names)


def stage_sql(table: RawTable, duck_types: bool) -> str:
    """``create temporary table`` for the stage: the raw columns plus the file index."""
    from daybook.load.reading import duck_type

    columns = ", ".join(
        f'"{name}" {duck_type(sql_type) if duck_types else sql_type}'
        for name, sql_type in table.columns
    )
    row = "" if table.name == "heartbeats" else ", _row integer"
    return f"create temporary table {STAGE} ({columns}, _file integer{row})"


def missing_key_sql(table: RawTable) -> str:
    """The first staged file holding an entity row without its key (entities only)."""
    return f'select min(_file) from {STAGE} where "{table.key}" is null'


def merge_statements(table: RawTable, backend: str) -> list[str]:
    """Statements that add staged heartbeats to the raw table (entities: ``latest_sql`` etc.)."""
    if table.name != "heartbeats":
        raise ValueError("entities are merged with latest_sql and replace_statements")
    return _insert_new_heartbeats(table, backend)


def latest_sql(table: RawTable) -> str:
    """A temporary table with one staged row per key: the last in file order of the last file."""
    cols = column_list(table)
    key = f'"{table.key}"'
    return (
        f"create temporary table {LATEST} as select {cols} from ("
        f"select distinct on ({key}) {cols} from {STAGE} "
        f"order by {key}, _file desc, _row desc) as latest"
    )


def repeated_keys_sql(table: RawTable) -> str:
    """How many staged rows repeat a key staged before them in the same call."""
    return f'select count(*) - count(distinct "{table.key}") from {STAGE}'


def entity_changes_sql(table: RawTable) -> str:
    """(rows replacing an earlier row with other values, of those moved to another client,
    of those with another time zone) for the rows in ``LATEST``."""
    key = f'"{table.key}"'
    target = table.qualified_name

    def differs(columns: list[str]) -> str:
        test = " or ".join(f'old."{name}" is distinct from new."{name}"' for name in columns)
        return f"exists (select 1 from {target} as old where old.{key} = new.{key} and ({test}))"

    others = [name for name in table.column_names if name != table.key]
    moved = differs(["client_id"]) if table.name != "clients" else "false"
    rezoned = differs(["timezone"]) if table.name == "clients" else "false"
    return (
        f"select count(*), count(*) filter (where {moved}), count(*) filter (where {rezoned}) "
        f"from {LATEST} as new where {differs(others)}"
    )


def replace_statements(table: RawTable) -> list[str]:
    """Replace every raw row whose key is in ``LATEST`` by the ``LATEST`` row, then drop it."""
    cols = column_list(table)
    key = f'"{table.key}"'
    target = table.qualified_name
    return [
        f"delete from {target} where {key} in (select {key} from {LATEST})",
        f"insert into {target} ({cols}) select {cols} from {LATEST}",
        f"drop table {LATEST}",
    ]


_NEVER = "timestamp '0001-01-01 00:00:00'"


def _insert_new_heartbeats(table: RawTable, backend: str) -> list[str]:
    """Insert staged heartbeats that have no identical row in the raw table yet."""
    target = table.qualified_name
    key, received = "heartbeat_id", "received_at_utc"
    columns = list(table.column_names)
    selected = ", ".join(f'new_rows."{name}"' for name in columns)
    rest = [
        f'old_rows."{name}" is not distinct from new_rows."{name}"'
        for name in columns
        if name not in (key, received)
    ]
    received_same = f"old_rows.{received} is not distinct from new_rows.{received}"
    head = f"insert into {target} ({column_list(table)}) select {selected} from {STAGE} as new_rows"
    if backend == "postgres":
        # two statements so each is indexable: ids by the index on their hash (the hashes
        # equal, then the ids), id-less rows by the small partial index (daybook.load.pg_indexes)
        same_id = f"hashtext(old_rows.{key}) = hashtext(new_rows.{key})"
        with_id = " and ".join([same_id, f"old_rows.{key} = new_rows.{key}", received_same, *rest])
        without_id = " and ".join([f"old_rows.{key} is null", received_same, *rest])
        return [
            f"{head} where new_rows.{key} is not null and not exists "
            f"(select 1 from {target} as old_rows where {with_id})",
            f"{head} where new_rows.{key} is null and not exists "
            f"(select 1 from {target} as old_rows where {without_id})",
        ]
    same = " and ".join(
        [
            f"coalesce(old_rows.{key}, '') = coalesce(new_rows.{key}, '')",
            f"coalesce(old_rows.{received}, {_NEVER}) = coalesce(new_rows.{received}, {_NEVER})",
            *rest,
        ]
    )
    return [
        f"{head} left join (select *, 1 as _present from {target}) as old_rows on {same} "
        "where old_rows._present is null"
    ]
