"""The benchmark end to end at a tiny size: it runs, it records everything, nothing failed.

No timing is asserted (the machine is shared); the test proves the harness:
generation, load and build in measured child processes, refreshes of new
heartbeats, the API and its floors under wrk (and beside 64 slow
connections), the JSON record and the markdown table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.bench.cli import bench

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)


def test_bench_runs_end_to_end_and_records_every_section(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        from support import require_postgres

        require_postgres()
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

    assert set(data["phases"]) == {"generate", "load", "build"}
    assert all(
        phase["seconds"] > 0 and phase["peak_rss_mb"] > 0 for phase in data["phases"].values()
    )
    assert set(data["mart_rows"]) == {
        "fct_activity_daily",
        "fct_user_activity_daily",
        "fct_device_activity_daily",
    }
    assert all(count > 0 for count in data["mart_rows"].values())
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
        "Incremental refresh",
        "answer cache off",
        "Throughput at",
        "64 slow connections held open",
    ):
        assert heading in table
    assert "| p50 / bare | p99 / bare | req/s / bare | p50 / driver |" in table
    assert f"| {backend} | user | weekly | 4 |" in table
    assert f"| {backend} | user | 4 | 64 |" in table
    assert table.strip() in outcome.stdout
