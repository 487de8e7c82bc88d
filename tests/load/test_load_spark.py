"""``daybook load`` on Spark (``sc://``, the session's local server), once per file format:
the rows read back equal the files parsed independently (pyarrow, the csv module), the raw
columns have the contract's types, a second load of the same files adds nothing, and a bad
second file refuses the whole call leaving raw as it was (refusals: test_load_spark_refusals)."""

from __future__ import annotations

import pytest
from support import read_table

from daybook.raw_schema import RAW_TABLES
from load.cli_rows import LEAKS
from load.rows import (
    TABLES,
    assert_refused,
    bag,
    damaged,
    file_rows,
    load_all,
    table_rows,
)

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def spark_loaded(spark_server, generated) -> dict:
    """The session's Spark server, emptied and loaded once per file format with every table."""
    from support import reset_spark_warehouse

    warehouse = reset_spark_warehouse(spark_server)
    results = load_all(warehouse, generated)
    return {"warehouse": warehouse, "files": generated, "results": results}


def test_rows_read_back_equal_the_files(spark_loaded):
    warehouse, files = spark_loaded["warehouse"], spark_loaded["files"]
    for table in TABLES:
        expected = file_rows(table, files[table])
        assert bag(table_rows(warehouse, table)) == bag(expected), table
        result = spark_loaded["results"][table]
        assert result.rows_read == len(expected)
        assert result.rows_added == len(expected)


def test_raw_column_types_are_the_contract_types(spark_loaded):
    spark_types = {"varchar": "string", "timestamp": "timestamp_ntz", "double precision": "double"}
    for table, spec in RAW_TABLES.items():
        described = read_table(spark_loaded["warehouse"], f"describe table raw.{table}")
        found = {row["col_name"]: row["data_type"] for row in described[: len(spec.columns)]}
        assert found == {name: spark_types[kind] for name, kind in spec.columns}, table


def test_loading_the_same_files_again_adds_nothing(spark_loaded):
    warehouse, files = spark_loaded["warehouse"], spark_loaded["files"]
    before = {table: bag(table_rows(warehouse, table)) for table in TABLES}
    again = load_all(warehouse, files)
    for table in TABLES:
        assert again[table].rows_read == len(file_rows(table, files[table]))
        assert again[table].rows_added == 0, table
        assert bag(table_rows(warehouse, table)) == before[table], table
    assert not any(result.changes.replaced for result in again.values())


def test_a_bad_second_file_refuses_the_whole_call(spark_loaded, csv_files, tmp_path):
    good = csv_files["heartbeats"][0]
    before = bag(table_rows(spark_loaded["warehouse"], "heartbeats"))
    bad = damaged(good, tmp_path / "second.csv", 4, "received_at_utc", "yesterday")
    message = assert_refused(
        spark_loaded["warehouse"],
        "heartbeats",
        [good, bad],
        "second.csv",
        "line 4",
        "received_at_utc",
    )
    assert not LEAKS.search(message), message
    assert bag(table_rows(spark_loaded["warehouse"], "heartbeats")) == before
