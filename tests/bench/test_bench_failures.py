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

from daybook.bench.phases import PhaseError, first_error, run_phase
from daybook.bench.targets import checks, markdown_lines
from daybook.bench.warehouses import bench_env, build_and_record, make_warehouse
from daybook.warehouse import DUCKDB_MEMORY_LIMIT_ENV


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
    env = bench_env(warehouse, tmp_path) | {DUCKDB_MEMORY_LIMIT_ENV: "256KB"}
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
    assert isinstance(error.data["nodes"], list)  # the timings reach the record


def test_a_build_that_fails_mid_run_is_recorded_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Load and floor succeed on a real (tiny) history; the build then fails (too little
    memory for it alone): the record holds all three phases, and the build as failed."""
    from daybook.bench.cli import generate_args

    generated = run_phase(
        "generate", generate_args(tmp_path / "raw", 2_000, 1), log_path=tmp_path / "gen.log"
    )
    warehouse = make_warehouse("duckdb", tmp_path, "tiny")
    data: dict = {"phases": {}}
    # the floor reads this limit too, so it is lowered only once the floor has run
    real_run_phase = run_phase

    def starve_the_build(step: str, args: dict, **kwargs: object) -> object:
        if step == "build":
            env = dict(kwargs.pop("env") or {}) | {DUCKDB_MEMORY_LIMIT_ENV: "256KB"}
            return real_run_phase(step, args, env=env, **kwargs)
        return real_run_phase(step, args, **kwargs)

    monkeypatch.setattr("daybook.bench.warehouses.run_phase", starve_the_build)
    with pytest.raises(PhaseError) as failure:
        build_and_record(warehouse, generated.data["files"], tmp_path, tmp_path / "log", data)
    assert failure.value.step == "build"
    assert list(data["phases"]) == ["load", "floor", "build"]
    assert data["floor"]["rows"] > 0
    assert data["build"]["failed"] is True
    # a DuckDB build now opens (and holds) the warehouse before dbt runs, so starved of memory
    # it can fail before dbt's timing exists; when dbt ran, its time is recorded
    assert data["build"].get("build_seconds", 1) > 0
    assert "mart_rows" not in data
    found = checks("duckdb", data, 2_000)
    assert [check.verdict for check in found] == ["not measured", "not measured"]


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


def test_the_error_line_is_the_exception_not_the_servers_detail(tmp_path: Path) -> None:
    log = tmp_path / "phases.log"
    log.write_text(
        '=== build {}\nTraceback (most recent call last):\n  File "x.py", line 1\n'
        'psycopg.errors.DiskFull: could not write to file "base/pgsql_tmp/t.16"\n'
        "DETAIL: the disk is full\nHINT: free some space\n",
        encoding="utf-8",
    )
    reason = first_error(log)
    assert reason == 'psycopg.errors.DiskFull: could not write to file "base/pgsql_tmp/t.16"'
    assert first_error(log, since=log.stat().st_size) is None  # only the phase's own part
