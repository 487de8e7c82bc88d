"""On DuckDB a refresh finds heartbeats by a stored hash of their key
(``dbt_project/macros/key_hashes.sql``); a table whose hashes cannot be trusted is read
by the key itself, with the same marts.

A warehouse built before the column existed gets it appended, empty for the rows it
holds (``on_schema_change='append_new_columns'``), and a DuckDB upgrade could change
``hash()``. Both must fall back to lookups by key, not miss a kept copy: the second
batch's late duplicates and earlier copies only come out right if the kept rows are
found.
"""

from __future__ import annotations

import pytest

from daybook.build import manifest_path, run_build, run_dbt
from daybook.warehouse import connection

from .scenario import batch1, batch2, expected_marts, insert_raw, merge_batches, query, read_marts

HEARTBEAT_MODELS = ("int_heartbeats_deduplicated", "int_heartbeats_validated")


def _tamper(warehouse, statement: str) -> None:
    with connection(warehouse) as con:
        for model in HEARTBEAT_MODELS:
            con.cursor().execute(statement.format(table=f"intermediate.{model}"))
        con.commit()


@pytest.mark.parametrize(
    "tampering",
    [
        # built before the column existed: dropped here, appended empty by the refresh
        "alter table {table} drop column heartbeat_key_hash",
        # written by a DuckDB whose hash() differed
        "update {table} set heartbeat_key_hash = heartbeat_key_hash + 1",
    ],
    ids=["column-missing", "hashes-stale"],
)
def test_a_refresh_without_usable_key_hashes_reads_by_key(make_warehouse, tampering):
    warehouse = make_warehouse("duckdb")
    first = batch1()
    insert_raw(warehouse, first)
    assert run_build(warehouse).success
    _tamper(warehouse, tampering)

    second = batch2(first)
    insert_raw(warehouse, second)
    incremental = run_build(warehouse)
    assert incremental.success, [node.name for node in incremental.failed_nodes]

    expected = expected_marts(merge_batches(first, second))
    actual = read_marts(warehouse)
    for mart in ("activity", "quarantine", "users", "devices"):
        assert actual[mart] == expected[mart], mart
    # the old rows still hold no usable hash, so nothing above read one for them
    (unusable,) = query(
        warehouse,
        "select count(*) as n from intermediate.int_heartbeats_deduplicated "
        "where heartbeat_key_hash is distinct from hash(heartbeat_key)",
    )
    assert unusable["n"] > 0


def test_the_heartbeat_key_unique_tests_find_a_duplicated_key(make_warehouse):
    """dbt's `unique` test on DuckDB groups the key's hash first (`duckdb__test_unique`);
    a key written twice must still fail it, once per model, and a clean build pass.
    DuckDB only: PostgreSQL's unique index on the key refuses the duplicate itself."""
    warehouse = make_warehouse("duckdb")
    insert_raw(warehouse, batch1())
    assert run_build(warehouse).success
    tests = [f"unique_{model}_heartbeat_key" for model in HEARTBEAT_MODELS]
    assert run_dbt(warehouse, ["test", "--select", *tests]).success

    _tamper(
        warehouse,
        "insert into {table} select * from {table} "
        "where heartbeat_key = (select min(heartbeat_key) from {table})",
    )
    broken = run_dbt(warehouse, ["test", "--select", *tests])
    assert not broken.success
    failures = {
        result.node.name: result.failures
        for result in broken.result.results
        if result.node.resource_type == "test"
    }
    assert failures == {test: 1 for test in tests}
    compiled = manifest_path(warehouse).parent / "compiled"
    for test in tests:
        (sql,) = compiled.rglob(f"{test}.sql")
        assert "_hash" in sql.read_text()  # the hashed form ran, not dbt's own
