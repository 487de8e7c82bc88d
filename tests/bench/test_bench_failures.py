"""A phase that fails mid-run: the bench keeps what it measured and says what went wrong.

A 100M-heartbeat run that fails after an hour (say, a build that runs out of disk)
must still leave a record of the load, the floor and where the failed build's time
went, and name the failure, instead of losing everything. Real child processes,
real DuckDB failures: an empty warehouse has no raw tables for the floor to read,
and a build under a 256 KB memory limit runs out of memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daybook.bench.phases import PhaseError, run_phase
from daybook.bench.targets import checks, markdown_lines
from daybook.bench.warehouses import bench_env, build_and_record, make_warehouse
from daybook.build.profile import DUCKDB_BUILD_MEMORY_LIMIT_ENV


def test_a_failed_phase_keeps_the_phases_before_it_and_names_its_error(tmp_path: Path) -> None:
    warehouse = make_warehouse("duckdb", tmp_path, "empty")
    data: dict = {"phases": {}}
    with pytest.raises(PhaseError) as failure:
        build_and_record(warehouse, {}, tmp_path, tmp_path / "phases.log", data)
    assert failure.value.step == "floor"
    assert "raw.heartbeats" in (failure.value.reason or "")
    assert failure.value.note == f"the floor phase: {failure.value.reason}"  # the report's line
    assert set(data["phases"]) == {"load"}
    assert data["phases"]["load"]["seconds"] > 0
    assert data["load"] == {"loaded": {}, "table_seconds": {}}


def test_a_failed_build_reports_its_failure_time_and_memory(tmp_path: Path) -> None:
    warehouse = make_warehouse("duckdb", tmp_path, "starved")
    env = bench_env(warehouse, tmp_path) | {DUCKDB_BUILD_MEMORY_LIMIT_ENV: "256KB"}
    with pytest.raises(PhaseError) as failure:
        run_phase(
            "build",
            {"url": warehouse.url, "full_refresh": True},
            log_path=tmp_path / "phases.log",
            env=env,
        )
    error = failure.value
    assert error.step == "build"
    assert "Out of Memory" in (error.reason or "")
    assert error.data["seconds"] >= error.data["build_seconds"] > 0
    assert error.data["peak_rss_mb"] > 0


def test_a_failed_build_judges_no_target_and_says_when_it_failed() -> None:
    data = {
        "phases": {
            "load": {"seconds": 90.0, "peak_rss_mb": 100.0},
            "floor": {"seconds": 600.0, "peak_rss_mb": 3000.0},
            "build": {"seconds": 1000.0, "peak_rss_mb": 3500.0},
        },
        "floor": {"statement_seconds": 590.0, "rows": 10, "settings": {}},
        "build": {
            "failed": True,
            "build_seconds": 990.0,
            "nodes": [{"name": "int_heartbeats_validated", "type": "model", "seconds": 488.0}],
        },
    }
    found = checks("duckdb", data, 100_000_000)
    assert [check.verdict for check in found] == ["not measured", "not measured"]
    assert all(check.measured == "build failed after 1000s" for check in found)
    results = {"config": {"heartbeats": 100_000_000}, "backends": {"duckdb": data}}
    lines = "\n".join(markdown_lines(results))
    assert "| duckdb | int_heartbeats_validated | model | 488.0 |" in lines
    assert "| 990.0 |" in lines and "| - | - |" in lines  # no ratio for a failed build
