"""dbt reaches Spark through the profile's ``spark`` target (dbt-spark's ``session`` method and
``SPARK_REMOTE``), in a process of its own as ``daybook build`` runs it: the query runs on the
server, the marts' schema is Spark's ``default`` database, pyspark's variables are gone from the
environment afterwards (a child process inherits none), and the process exits (an open Spark
Connect session used to hang the interpreter's shutdown)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build

CHILD = """
import json, os, sys
from daybook.build.invoke import run_dbt
from daybook.config import parse_database_url

warehouse = parse_database_url(sys.argv[1])
query = "select 20 + 22 as answer, current_database() as db"
outcome = run_dbt(warehouse, ["show", "--inline", query])
table = outcome.result.results[0].agate_table
print(json.dumps({
    "success": outcome.success,
    "rows": [[str(value) for value in row] for row in table.rows],
    "spark_variables": sorted(name for name in os.environ if name.startswith("SPARK_")),
}))
"""


def test_dbt_runs_a_query_on_spark_and_leaves_the_process_clean(spark_warehouse):
    env = {name: value for name, value in os.environ.items() if not name.startswith("SPARK_")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, spark_warehouse.url],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["success"]
    assert report["rows"] == [["42", "default"]]
    assert report["spark_variables"] == []


def test_the_builds_raw_tables_are_the_loaders(spark_warehouse, tmp_path):
    """``daybook build`` creates missing raw tables first; on Spark with the contract's types,
    so a load afterwards appends to them (rows read back equal the file)."""
    from load.cli_rows import CLIENT, client, write_csv
    from support import read_table

    from daybook.build.raw_tables import ensure_raw_tables
    from daybook.load import load_files
    from daybook.raw_schema import RAW_TABLES

    ensure_raw_tables(spark_warehouse)
    spark_types = {"varchar": "string", "timestamp": "timestamp_ntz", "double precision": "double"}
    for table, spec in RAW_TABLES.items():
        described = read_table(spark_warehouse, f"describe table raw.{table}")
        found = {row["col_name"]: row["data_type"] for row in described[: len(spec.columns)]}
        assert found == {name: spark_types[kind] for name, kind in spec.columns}, table
    load_files(spark_warehouse, "clients", [write_csv(tmp_path / "c.csv", [client()])])
    rows = read_table(spark_warehouse, "select client_id, timezone, created_at from raw.clients")
    assert [(row["client_id"], row["timezone"], str(row["created_at"])) for row in rows] == [
        (CLIENT, client()["timezone"], client()["created_at"])
    ]
