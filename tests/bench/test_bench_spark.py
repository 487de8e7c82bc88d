"""``daybook bench --backend spark`` at a tiny size: every Spark phase recorded.

No timing is asserted (the machine is shared). The test proves the harness on Spark, on the
process's Spark server emptied (``--spark-url``: the bench neither starts nor stops it, and
refuses it once it holds tables; starting and stopping a server of its own is
``local_spark_server``'s, the ``spark_server`` fixture's code, tested in tests/spark); load, the
full build (dbt-spark) and its snapshot publish, a refresh of new heartbeats, the API
straight from Spark and from a DuckDB serving store published from Spark, each with
numbers and no failed request; what cannot run on Spark is named in the notes. The fact
mart's size is checked against the independent reference over the generated raw rows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from reference import compute
from support import generated_rows, require_spark

from daybook.bench.cli import bench
from daybook.bench.spark import SERVER_FOLDER, STORE_LABEL
from daybook.config import Warehouse
from daybook.semantic.loader import load_registry

pytestmark = [
    pytest.mark.build,  # a Spark server and dbt builds of its own
    pytest.mark.skipif(
        shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
    ),
]

GROUPS = {"user/weekly", "device/weekly"}


def test_bench_on_spark_records_every_spark_phase(
    spark_warehouse: Warehouse, tmp_path: Path
) -> None:
    from daybook.spark.session import check_reachable

    require_spark()
    results, work = tmp_path / "results", tmp_path / "work"

    def arguments(work: Path) -> list[str]:
        return [
            "--heartbeats", "2000", "--backend", "spark", "--duration", "1",
            "--refresh-cycles", "1", "--granularity", "weekly",
            "--results-dir", str(results), "--work-dir", str(work),
            "--spark-url", spark_warehouse.url,
        ]  # fmt: skip

    outcome = CliRunner().invoke(bench, arguments(work), catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    assert not (work / SERVER_FOLDER).exists()  # no server of its own
    check_reachable(spark_warehouse.url)  # the given one left running
    check_spark_run(results, work, outcome.stdout)

    # now the warehouse holds the bench's tables: a second run is refused before any work
    again = CliRunner().invoke(bench, arguments(tmp_path / "again"))
    assert again.exit_code == 2, again.output
    assert "Invalid value for '--spark-url'" in again.output
    assert "is not empty (database " in again.output
    assert not (tmp_path / "again" / "raw").exists()


@pytest.mark.parametrize(
    ("backend", "url", "message"),
    [
        ("duckdb", "sc://127.0.0.1:1", "--spark-url needs --backend spark or all"),
        ("spark", "http://127.0.0.1:15002", "is not a Spark Connect URL (sc://HOST:PORT)"),
        ("all", "sc://127.0.0.1:1", "no Spark Connect server answers at 127.0.0.1:1"),
    ],
)
def test_a_spark_url_that_cannot_be_benched_is_refused_before_any_work(
    tmp_path: Path, backend: str, url: str, message: str
) -> None:
    work = tmp_path / "work"
    outcome = CliRunner().invoke(
        bench, ["--backend", backend, "--spark-url", url, "--work-dir", str(work)]
    )
    assert outcome.exit_code == 2, outcome.output
    assert message in outcome.output
    assert not work.exists()


def check_spark_run(results: Path, work: Path, stdout: str) -> None:
    """Everything a tiny ``--backend spark`` run (2,000 heartbeats, one refresh cycle, weekly
    only, 1 s runs) must have recorded in ``results``; ``work`` holds its generated raw files."""
    (json_path,) = results.glob("*.json")
    (md_path,) = results.glob("*.md")
    record = json.loads(json_path.read_text())
    data = record["backends"]["spark"]

    assert list(data["phases"]) == ["generate", "load", "floor", "build"]
    assert all(
        phase["seconds"] > 0 and phase["peak_rss_mb"] > 0 for phase in data["phases"].values()
    )
    assert 0 < data["build"]["build_seconds"] < data["phases"]["build"]["seconds"]
    assert data["build"]["publish_seconds"] > 0  # the Spark snapshot database
    assert data["load"]["table_seconds"]["heartbeats"] > 0

    raw = {
        table: generated_rows(work / "raw", table)
        for table in ("clients", "users", "devices", "heartbeats")
    }
    expected = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    activity = load_registry(check_manifest=False).activity.model
    assert data["mart_rows"][activity] == len(expected.activity) > 0
    # the floor (daybook/bench/floor.py, its Spark statement) wrote the same facts
    assert data["floor"]["rows"] == len(expected.activity)
    assert 0 < data["floor"]["statement_seconds"] < data["phases"]["floor"]["seconds"]

    (run,) = data["refresh"]
    assert run["history_heartbeats"] == 2000 and run["cold"]
    assert run["cycle"]["built"]
    assert run["cycle"]["arrivals"]["heartbeats"] == run["new_heartbeats"] > 0
    assert run["end_to_end_seconds"] > run["load_seconds"] > 0

    spark_api = data["spark_api"]
    assert spark_api["store_publish"]["seconds"] > spark_api["store_publish"]["publish_seconds"]
    assert "DuckDB serving store" in spark_api["store_publish"]["publication"]
    for served in ("spark", STORE_LABEL):
        found = spark_api[served]
        assert set(found["api_uncached"]) == GROUPS
        for by_clients in found["api_uncached"].values():
            assert set(by_clients) == {"1", "4"}
            for clients in by_clients.values():
                assert clients["requests"] > 0 and clients["errors"] == 0
                assert clients["p50_ms"] > 0
        assert set(found["driver"]) == GROUPS
        assert all(group["requests"] > 0 for group in found["driver"].values())
        assert found["worker_rss_mb"] > 0
    assert record["targets"]["spark"] == []  # issue 14's targets are DuckDB's and PostgreSQL's

    notes = record["notes"]
    assert not any("the build's floor" in note for note in notes)
    for skipped in ("the refresh over the smaller history", "saturation"):
        assert any(note.startswith("spark: skipped") and skipped in note for note in notes)
    table = md_path.read_text()
    assert "## The API on Spark, answer cache off" in table
    assert "| spark | spark | user | weekly | 1 |" in table
    assert f"| spark | {STORE_LABEL} | device | weekly | 4 |" in table
    assert f"| spark | build | {data['phases']['build']['seconds']:.1f} |" in table
    floor_row = f"| spark | {data['floor']['statement_seconds']:.1f} |"
    assert any(line.startswith(floor_row) for line in table.splitlines())  # its ratio
    assert table.strip() in stdout
