"""Spark Connect sessions as Daybook opens them (``daybook.spark.session``): a session that read a
table sees it rebuilt by another session (as the API reads while dbt rebuilds): at once after
``refresh_table``, and by itself after the server's metadata cache TTL; pyspark's variables are
not left in the environment; bound parameters and a failed query's first line only."""

from __future__ import annotations

import os
import time

import pytest

from daybook.cli_errors import first_line
from daybook.spark.dbapi import connect
from daybook.spark.session import CLIENT_VARIABLES, open_session, refresh_table

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build


def rebuild(url: str, values: list[int]) -> None:
    """Drop and recreate ``default.t`` with ``values`` from another session (as dbt does)."""
    with connect(url) as writer:
        writer.execute("drop table if exists default.t")
        writer.execute("create table default.t (v int) using parquet")
        rows = ", ".join(f"({int(value)})" for value in values)
        writer.execute(f"insert into default.t values {rows}")


def values(session) -> list[int]:
    return sorted(row[0] for row in session.sql("select v from default.t").collect())


def test_a_reader_sees_a_table_rebuilt_by_another_session(spark_warehouse):
    rebuild(spark_warehouse.url, [1, 2])
    reader = open_session(spark_warehouse.url)
    try:
        assert values(reader) == [1, 2]
        assert not any(name in os.environ for name in CLIENT_VARIABLES)

        rebuild(spark_warehouse.url, [3, 4, 5])
        refresh_table(reader, "default.t")
        assert values(reader) == [3, 4, 5]

        rebuild(spark_warehouse.url, [6])
        time.sleep(3)  # the local server's spark.sql.metadataCacheTTLSeconds is 2
        assert values(reader) == [6]
    finally:
        reader.stop()


def test_parameters_are_bound_and_errors_are_one_line(spark_warehouse):
    with connect(spark_warehouse.url) as con:
        cursor = con.cursor()
        cursor.execute("select ? as text, ? as number", ["it's; drop table x", 7])
        assert cursor.fetchall() == [("it's; drop table x", 7)]
        assert [column[0] for column in cursor.description] == ["text", "number"]
        with pytest.raises(Exception) as failed:
            cursor.execute("select * from default.no_such_table where v = ?", [1])
    message = first_line(failed.value)
    assert "TABLE_OR_VIEW_NOT_FOUND" in message
    assert "\n" not in message and "JVM" not in message and "select" not in message.lower()
