"""Uniqueness tests that trust a unique index (``dbt_project/macros/unique_indexes.sql``)
must stay exact: they skip reading a table only while a valid, non-partial unique index
covers the tested columns, and still find every duplicate the index allows (rows with a
null in the grain) or that a missing or partial index lets in."""

from __future__ import annotations

import json

import pytest

from daybook.build import manifest_path, run_build, run_dbt
from daybook.warehouse import connection

from .scenario import batch1, insert_raw, query

KEY_TEST = "unique_int_heartbeats_validated_heartbeat_key"
KEY_TABLE = "intermediate.int_heartbeats_validated"
GRAIN_TEST = (
    "unique_combination_of_columns_fct_user_activity_daily_client_id__user_id__activity_date"
)


def _execute(warehouse, *statements: str) -> None:
    with connection(warehouse) as con:
        for statement in statements:
            con.cursor().execute(statement)
        con.commit()


def _failures(warehouse, test: str) -> int:
    """The failing rows dbt's run of one data test reports (0 when it passes)."""
    run = run_dbt(warehouse, ["test", "--select", test])
    (result,) = [r for r in run.result.results if r.node.resource_type == "test"]
    assert run.success == (result.failures == 0)
    return result.failures


def _loops_reading(warehouse, sql: str, table: str) -> list[int]:
    """How often the plan of `sql` executed each node that reads `table`."""
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(f"explain (analyze, format json) {sql}")
        (plan,) = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node: dict):
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    return [
        node["Actual Loops"]
        for node in walk(plan["Plan"])
        if node.get("Relation Name") == table.split(".")[1]
    ]


def test_postgres_key_test_trusts_only_a_full_unique_index(make_warehouse):
    warehouse = make_warehouse("postgres")
    insert_raw(warehouse, batch1())
    assert run_build(warehouse).success

    # the key's unique index holds: the test passes without reading the table
    assert _failures(warehouse, KEY_TEST) == 0
    (compiled,) = (manifest_path(warehouse).parent / "compiled").rglob(f"{KEY_TEST}.sql")
    assert _loops_reading(warehouse, compiled.read_text(), KEY_TABLE) == [0]

    # a partial unique index guarantees nothing about the rows it leaves out
    (index,) = query(
        warehouse,
        "select indexname from pg_indexes where schemaname = 'intermediate' "
        "and tablename = 'int_heartbeats_validated' and indexdef like 'CREATE UNIQUE%'",
    )
    (key,) = query(warehouse, f"select min(heartbeat_key) as k from {KEY_TABLE}")
    _execute(
        warehouse,
        f'drop index intermediate."{index["indexname"]}"',
        f"create unique index partial_key on {KEY_TABLE} (heartbeat_key) "
        f"where heartbeat_key <> '{key['k']}'",
        f"insert into {KEY_TABLE} select * from {KEY_TABLE} where heartbeat_key = '{key['k']}'",
    )
    assert _loops_reading(warehouse, compiled.read_text(), KEY_TABLE) != [0]
    assert _failures(warehouse, KEY_TEST) == 1

    # and no unique index at all: dbt's own reading
    _execute(warehouse, "drop index intermediate.partial_key")
    assert _failures(warehouse, KEY_TEST) == 1


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_grain_test_finds_rows_repeated_with_a_null(make_warehouse, backend):
    """A unique index lets rows with a null in it repeat; the grain test must not."""
    warehouse = make_warehouse(backend)
    insert_raw(warehouse, batch1())
    assert run_build(warehouse).success
    assert _failures(warehouse, GRAIN_TEST) == 0

    (columns,) = query(
        warehouse,
        "select string_agg(case when column_name = 'user_id' then 'null' else column_name end,"
        " ', ' order by ordinal_position) as c from information_schema.columns"
        " where table_name = 'fct_user_activity_daily' and table_schema = current_schema()",
    )
    copy = (
        f"insert into fct_user_activity_daily select {columns['c']} "
        "from fct_user_activity_daily order by client_id, user_id, activity_date limit 1"
    )
    _execute(warehouse, copy, copy)
    assert _failures(warehouse, GRAIN_TEST) == 1
