"""The benchmark end to end at a tiny size: it runs, it records everything, nothing failed.

No timing is asserted (the machine is shared); the test proves the harness:
generation, load, the build's floor and the build in measured child processes
(the floor under the build's DuckDB memory limit, its table dropped before the
build), refreshes of new heartbeats, the API and its floors under wrk (and beside
64 slow connections), the JSON record with issue 14's verdicts and the markdown table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.bench.cli import bench
from daybook.build.profile import DUCKDB_BUILD_MEMORY_LIMIT_ENV
from daybook.semantic.loader import load_registry

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)


def _duckdb_reads_back(limit: str) -> str:
    """How DuckDB itself states ``limit`` once set (``1GB`` reads back as ``953.6 MiB``)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"set memory_limit = '{limit}'")
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_bench_runs_end_to_end_and_records_every_section(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        from support import require_postgres

        require_postgres()
    # An unusual limit, so the floor's reading it back shows it ran under the build's.
    monkeypatch.setenv(DUCKDB_BUILD_MEMORY_LIMIT_ENV, "1500MB")
    results = tmp_path / "results"
    outcome = CliRunner().invoke(
        bench,
        [
            "--heartbeats",
            "2000",
            "--backend",
            backend,
            "--duration",
            "1",
            "--no-small-history",
            "--refresh-cycles",
            "1",
            "--granularity",
            "weekly",
            "--results-dir",
            str(results),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    (json_path,) = results.glob("*.json")
    (md_path,) = results.glob("*.md")
    record = json.loads(json_path.read_text())
    data = record["backends"][backend]

    assert list(data["phases"]) == ["generate", "load", "floor", "build"]
    assert all(
        phase["seconds"] > 0 and phase["peak_rss_mb"] > 0 for phase in data["phases"].values()
    )
    registry = load_registry(check_manifest=False)
    activity = registry.activity.model
    assert set(data["mart_rows"]) == {activity} | {
        entity.daily_model for entity in registry.entities.values() if entity.daily_model
    }
    assert all(count > 0 for count in data["mart_rows"].values())

    floor, build = data["floor"], data["build"]
    assert 0 < floor["statement_seconds"] < data["phases"]["floor"]["seconds"]
    assert floor["rows"] == data["mart_rows"][activity]  # the same facts as the build's
    if backend == "duckdb":
        assert floor["settings"]["memory_limit"] == _duckdb_reads_back("1500MB")
    else:
        assert floor["settings"] == {}
    assert 0 < build["build_seconds"] < data["phases"]["build"]["seconds"]
    assert data["load"]["table_seconds"]["heartbeats"] > 0
    verdicts = record["targets"][backend]
    assert verdicts[0]["target"].startswith("full build / floor <=")
    assert verdicts[0]["measured"] == f"{build['build_seconds'] / floor['statement_seconds']:.2f}x"
    assert {check["verdict"] for check in verdicts} <= {"met", "NOT met"}
    assert len(verdicts) == 2
    histories = {run["history_heartbeats"] for run in data["refresh"]}
    assert histories == {2000}
    for run in data["refresh"]:
        arrivals = run["cycle"]["arrivals"]
        assert run["cycle"]["built"] and arrivals["heartbeats"] == run["new_heartbeats"] > 0

    http = data["http"]
    for server, client_counts in (
        ("api", {"1", "4"}),
        ("api_uncached", {"4"}),
        ("bare", {"1", "4"}),
    ):
        assert set(http[server]) == {"user/weekly", "device/weekly"}
        for by_clients in http[server].values():
            assert set(by_clients) == client_counts
            for run in by_clients.values():
                assert run["requests"] > 0 and run["errors"] == 0
    for run in http["saturation"].values():
        for server in ("api", "api_uncached", "bare"):
            assert run[server]["requests"] > 0 and run[server]["errors"] == 0
    assert http["trivial"]["requests"] > 0 and http["trivial"]["errors"] == 0
    assert set(http["slow_clients"]) == {"user", "device"}
    for slow in http["slow_clients"].values():
        assert slow["slow_connections"] == 64 and slow["min_open"] == 64
        for run in (slow["with"], slow["without"]):
            assert run["requests"] > 0 and run["errors"] == 0
    assert all(group["requests"] > 0 for group in data["driver"].values())
    assert data["worker_rss_mb"]["api"] > 0

    table = md_path.read_text()
    for heading in (
        "Generation, load, full build",
        "Full build against its floor (issue 14)",
        "indicative only",
        "Incremental refresh",
        "answer cache off",
        "Throughput at",
        "64 slow connections held open",
    ):
        assert heading in table
    assert "| p50 / bare | p99 / bare | req/s / bare | p50 / driver |" in table
    assert f"| {backend} | user | weekly | 4 |" in table
    assert f"| {backend} | user | 4 | 64 |" in table
    assert f"| {backend} | floor | {data['phases']['floor']['seconds']:.1f} |" in table
    for check in verdicts:
        assert (
            f"| {backend} | {check['target']} | {check['measured']} | {check['verdict']} |" in table
        )
    assert table.strip() in outcome.stdout
