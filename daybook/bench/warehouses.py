"""The benchmark's warehouses: a fresh one per run, loaded and fully built, then refreshed
with five minutes of new heartbeats at a time, and dropped afterwards.

Each phase runs in a measured child process (:mod:`daybook.bench.phases`).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from daybook.bench.phases import PhaseError, PhaseResult, run_phase
from daybook.bench.report import log
from daybook.config import Warehouse, parse_database_url, project_dir

HISTORY_RATIO = 10  # the refresh is also measured over a history this many times smaller


def _admin_url() -> str:
    return os.environ.get(
        "DAYBOOK_BENCH_PG_URL",
        os.environ.get("DAYBOOK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )


def make_warehouse(backend: str, work: Path, name: str) -> Warehouse:
    """A fresh, empty warehouse for one benchmark run."""
    if backend == "duckdb":
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        return parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
    import psycopg

    admin = parse_database_url(_admin_url())
    dbname = f"daybook_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin.pg_conninfo, autocommit=True) as con:
        con.execute(f'create database "{dbname}"')
    return parse_database_url(f"postgresql://{admin.user}@{admin.host}:{admin.port}/{dbname}")


def drop_warehouse(warehouse: Warehouse) -> None:
    if warehouse.backend != "postgres":
        return
    import psycopg

    admin = parse_database_url(_admin_url())
    with psycopg.connect(admin.pg_conninfo, autocommit=True) as con:
        con.execute(f'drop database if exists "{warehouse.dbname}" with (force)')


def bench_env(warehouse: Warehouse, work: Path) -> dict[str, str]:
    """The environment every child process of a run against ``warehouse`` gets."""
    return {
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": str(work / "state"),
        "DAYBOOK_PROJECT_DIR": str(project_dir()),
    }


def build_history(
    warehouse: Warehouse,
    files: dict[str, list[str]],
    work: Path,
    log_path: Path,
    *,
    floor: bool = False,
    phases: dict[str, PhaseResult] | None = None,
) -> None:
    """Load and fully build one warehouse; record the refresh high-water mark.

    ``floor``: between the load and the build, run the build's floor
    (``daybook.bench.floor``) on the same loaded data in its own measured child
    process, and drop its table before the build starts. ``phases``, when given, is
    filled as each phase ends, so a caller still has the finished ones when a later
    one fails.
    """
    env = bench_env(warehouse, work)
    phases = {} if phases is None else phases
    phases["load"] = run_phase(
        "load", {"url": warehouse.url, "files": files}, log_path=log_path, env=env
    )
    if floor:
        phases["floor"] = run_phase("floor", {"url": warehouse.url}, log_path=log_path, env=env)
    phases["build"] = run_phase(
        "build", {"url": warehouse.url, "full_refresh": True}, log_path=log_path, env=env
    )
    run_phase("mark", {"url": warehouse.url}, log_path=log_path, env=env)


def build_and_record(
    warehouse: Warehouse,
    files: dict[str, list[str]],
    work: Path,
    log_path: Path,
    data: dict[str, Any],
) -> None:
    """``build_history`` with the build's floor, recorded into ``data`` under the keys every
    backend's record has: ``phases`` (seconds and peak memory per phase), ``mart_rows``,
    ``load``, ``floor`` and ``build`` (its build and publish seconds); one progress line.

    When a phase fails, the phases before it are recorded (and a failed build's node
    timings) before the ``PhaseError`` goes on to the caller."""
    phases: dict[str, PhaseResult] = {}
    try:
        build_history(warehouse, files, work, log_path, floor=True, phases=phases)
    except PhaseError as error:
        _record(data, phases)
        if error.step == "build":
            data["phases"]["build"] = {key: error.data[key] for key in ("seconds", "peak_rss_mb")}
            data["build"] = {"failed": True} | {
                key: error.data[key] for key in ("build_seconds", "nodes") if key in error.data
            }
        raise
    _record(data, phases)
    log(
        f"{warehouse.backend}: load {phases['load'].seconds:.1f}s, "
        f"floor {data['floor']['statement_seconds']:.1f}s, "
        f"build {phases['build'].seconds:.1f}s "
        f"(publish {data['build']['publish_seconds'] or 0:.1f}s of it)"
    )


def _record(data: dict[str, Any], phases: dict[str, PhaseResult]) -> None:
    """Each finished phase's seconds and peak memory, and the load's, floor's and build's
    own data (a build that succeeded is recorded even when the phase after it fails)."""
    for name, phase in phases.items():
        data["phases"][name] = {"seconds": phase.seconds, "peak_rss_mb": phase.peak_rss_mb}
        if name in ("load", "floor"):
            data[name] = phase.data
    if "build" in phases:
        built = phases["build"].data
        data["mart_rows"] = built["mart_rows"]
        data["build"] = {key: built[key] for key in ("build_seconds", "publish_seconds", "nodes")}


def measure_refresh(
    warehouse: Warehouse, history: int, work: Path, log_path: Path, cycles: int = 2
) -> list[dict[str, Any]]:
    """Five minutes of new heartbeats, loaded and refreshed end to end, ``cycles`` times.

    All cycles run in one child process, as ``daybook refresh --every 5m`` does:
    the first pays for importing dbt ("cold"), the next ones are the steady state.
    """
    from datetime import timedelta

    from daybook.bench.arrivals import WINDOW, write_arrivals
    from daybook.bench.served import newest_served

    newest = newest_served(warehouse)
    assert newest is not None, "the history has no heartbeats"
    files = []
    for cycle in range(cycles):
        path, count = write_arrivals(
            warehouse,
            work / f"arrivals-{warehouse.backend}-{history}-{cycle}.parquet",
            after=newest + cycle * WINDOW + timedelta(seconds=1),
            seed=cycle,
        )
        files.append((str(path), count))
    phase = run_phase(
        "refresh",
        {"url": warehouse.url, "files": [path for path, _ in files]},
        log_path=log_path,
        env=bench_env(warehouse, work),
    )
    runs = []
    for index, ((_, count), cycle) in enumerate(zip(files, phase.data["cycles"], strict=True)):
        runs.append(
            {
                "history_heartbeats": history,
                "new_heartbeats": count,
                "cold": index == 0,
                "peak_rss_mb": phase.peak_rss_mb,
                **cycle,
            }
        )
        log(
            f"{warehouse.backend}: refresh of {count:,} new heartbeats over {history:,}"
            f"{' (cold)' if index == 0 else ''}: {cycle['end_to_end_seconds']:.2f}s end to end"
        )
    return runs
