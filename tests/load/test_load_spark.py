"""``daybook load`` on Spark (``sc://``, the session's local server), once per file format:
the rows read back equal the files parsed independently (pyarrow, the csv module), the raw
columns have the contract's types, a second load of the same files adds nothing, and a bad
second file refuses the whole call leaving raw as it was (refusals: test_load_spark_refusals)."""

from __future__ import annotations

import pytest
from support import read_table

from daybook.load import load_files
from daybook.raw_schema import RAW_TABLES
from load.cli_rows import LEAKS
from load.rows import (
    TABLES,
    assert_refused,
    bag,
    csv_records,
    damaged,
    file_rows,
    load_all,
    table_rows,
    write_csv,
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


def test_a_redelivery_adds_exactly_the_rows_no_loaded_row_equals(spark_loaded, csv_files, tmp_path):
    """The comparison with loaded rows is limited to the delivery's receipt times (and null
    ones): copies of loaded rows, with or without a receipt time, are skipped; a row that
    differs from a loaded one in its receipt time or a count alone is added."""
    warehouse = spark_loaded["warehouse"]
    columns, records = csv_records(csv_files["heartbeats"][0])
    first = write_csv(tmp_path / "first.csv", columns, records[:4])
    without_receipt = {**records[0], "received_at_utc": ""}
    load_files(
        warehouse,
        "heartbeats",
        [first, write_csv(tmp_path / "null.csv", columns, [without_receipt])],
    )
    before = bag(table_rows(warehouse, "heartbeats"))

    later_receipt = {**records[1], "received_at_utc": "2099-01-01 00:00:00"}
    other_count = {**records[2], "desktop_activity_count": "9999"}
    other_count_without_receipt = {**without_receipt, "desktop_activity_count": "9999"}
    redelivery = [
        records[3],
        without_receipt,
        later_receipt,
        other_count,
        other_count_without_receipt,
    ]
    path = write_csv(tmp_path / "redelivery.csv", columns, redelivery)
    result = load_files(warehouse, "heartbeats", [path])

    new_rows = file_rows("heartbeats", [path])[2:]  # the first two are copies of loaded rows
    assert result.rows_read == len(redelivery)
    assert result.rows_added == len(new_rows)
    assert bag(table_rows(warehouse, "heartbeats")) == before + bag(new_rows)
