"""Benchmark phases run in child processes, so each has its own wall time and peak memory.

The parent starts ``python -m daybook.bench.phases STEP ARGS_JSON`` and reaps
it with ``os.wait4``, whose resource usage is that child's alone (its peak
resident set, ``ru_maxrss``). The child prints one JSON line of results.

Over 300 lines on purpose: it is the one module the parent runs by name, so every step
the child can run (a short function each) and the table choosing among them live here;
what a step measures is the report's business (``report.py``), not this module's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybook.config import parse_database_url

RESULT_PREFIX = "PHASEJSON "


class PhaseError(RuntimeError):
    """A benchmark phase failed. ``step`` names it, ``reason`` is the last error line of its
    log (for the report; the rest is in the log) and ``data`` what the child reported
    before failing (a failed build's node timings), if anything."""

    def __init__(self, step: str, message: str, reason: str | None, data: dict[str, Any]):
        super().__init__(message)
        self.step, self.reason, self.data = step, reason, data

    @property
    def note(self) -> str:
        """One line for the report's notes: which phase failed and why."""
        return f"the {self.step} phase: {self.reason or self}"


# the last line of a traceback: `psycopg.errors.DiskFull: could not write to file ...`
# (a name holding "error" or "exception"; PostgreSQL's `DETAIL:` or `HINT:` lines do not)
PYTHON_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?i:error|exception)[\w.]*: ")


def first_error(log_path: Path, since: int = 0) -> str | None:
    """The last engine, dbt or Python error line of a phase's log (from byte ``since``, where
    that phase's part starts): the line a reader needs first; the rest is in the log."""
    with open(log_path, encoding="utf-8", errors="replace") as log:
        log.seek(since)
        lines = [line.strip() for line in log.read().splitlines()]
    found = [line for line in lines if PYTHON_EXCEPTION.match(line) or "Error" in line]
    return found[-1][:300] if found else None


@dataclass(frozen=True)
class PhaseResult:
    name: str
    seconds: float
    peak_rss_mb: float
    data: dict[str, Any]


def run_phase(
    step: str, args: dict[str, Any], *, log_path: Path, env: dict[str, str] | None = None
) -> PhaseResult:
    """Run one phase in a child process (with ``env`` added) and measure it."""
    started = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n=== {step} {json.dumps(args)}\n")
        log.flush()
        since = log.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", "daybook.bench.phases", step, json.dumps(args)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        log.write(output)
    seconds = time.perf_counter() - started
    line = next((row for row in output.splitlines() if row.startswith(RESULT_PREFIX)), None)
    try:
        data = json.loads(line.removeprefix(RESULT_PREFIX)) if line else {}
    except json.JSONDecodeError:  # a child killed while printing: as if it printed nothing
        line, data = None, {}
    if process.returncode != 0 or line is None:
        raise PhaseError(
            step,
            f"phase {step} failed (exit {process.returncode}) after {seconds:.0f}s; see {log_path}",
            data.get("failure") or first_error(log_path, since),
            data | {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024},
        )
    return PhaseResult(name=step, seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024, data=data)


# --------------------------------------------------------------------------- child side


def _generate(args: dict[str, Any]) -> dict[str, Any]:
    from daybook.generate import generate_dataset
    from daybook.generate.activity import MEAN_HEARTBEATS_PER_ACTIVE_DAY

    files = generate_dataset(
        Path(args["out_dir"]),
        heartbeats=args["heartbeats"],
        seed=args["seed"],
        days=args.get("days"),
        users=args.get("users"),
        per_active_day=args.get("per_active_day", MEAN_HEARTBEATS_PER_ACTIVE_DAY),
        progress=False,
    )
    return {"files": {table: [str(path) for path in paths] for table, paths in files.items()}}


def _load(args: dict[str, Any]) -> dict[str, Any]:
    """Load every generated table; each table's own seconds too (the heartbeats' rate)."""
    from daybook.load import load_files

    warehouse = parse_database_url(args["url"])
    loaded, seconds = {}, {}
    for table, paths in args["files"].items():
        started = time.perf_counter()
        result = load_files(warehouse, table, [Path(path) for path in paths])
        seconds[table] = time.perf_counter() - started
        loaded[table] = str(result)
    return {"loaded": loaded, "table_seconds": seconds}


def _floor(args: dict[str, Any]) -> dict[str, Any]:
    """The build's floor (``daybook.bench.floor``) on the loaded data, then dropped.

    On DuckDB it runs under the build's settings (``duckdb_build_settings``: the same
    memory limit; threads are DuckDB's default in both), set on its connection.
    """
    from daybook.bench.floor import drop_floor, run_floor
    from daybook.build.profile import duckdb_build_settings

    warehouse = parse_database_url(args["url"])
    settings = duckdb_build_settings() if warehouse.backend == "duckdb" else None
    try:
        result = run_floor(warehouse, settings=settings)
    finally:
        drop_floor(warehouse)
    return {"statement_seconds": result.seconds, "rows": result.rows, "settings": result.settings}


def _build(args: dict[str, Any]) -> dict[str, Any]:
    from daybook.build import run_build
    from daybook.pipeline import build_and_publish

    warehouse = parse_database_url(args["url"])
    full_refresh = args.get("full_refresh", False)
    outcome = build_and_publish(
        warehouse, build=lambda target: run_build(target, full_refresh=full_refresh)
    )
    timings = {"build_seconds": outcome.build_seconds, "nodes": node_seconds(outcome.build)}
    if not outcome.success:
        print(outcome.build.summary(), file=sys.stderr)
        # where a failed build's time went is worth a report too, and the failure itself
        _emit(timings | {"failure": build_failure(outcome.build)})
        raise SystemExit(1)
    return {
        **timings,
        "publish_seconds": outcome.publish_seconds,
        "mart_rows": _mart_rows(warehouse),
    }


def build_failure(build: Any) -> str:
    """Why a build failed, in one line: the first failed node and its message (the nodes
    after it are skipped, not failed), else the error that stopped dbt before any node."""
    failed = [node for node in getattr(build, "nodes", []) if node.failed]
    if failed:
        node = failed[0]
        return f"{node.type} {node.name}: {' '.join((node.message or '').split())}"[:300]
    return (getattr(build, "error", None) or build.summary().splitlines()[0])[:300]


def node_seconds(build: Any) -> list[dict[str, Any]]:
    """Each dbt node's own time in a build, slowest first: where the build's time goes
    (issue 14 asks for that before anything is changed; dbt's run timings)."""
    nodes = [
        {
            "name": node.name,
            "type": node.type,
            "seconds": round(node.seconds, 3),
            **({"status": node.status} if node.failed else {}),
        }
        for node in getattr(build, "nodes", [])
    ]
    return sorted(nodes, key=lambda node: node["seconds"], reverse=True)


def fact_marts() -> tuple[str, ...]:
    """The served fact marts, from the registry: the activity fact, each entity's daily one."""
    from daybook.semantic.loader import load_registry

    registry = load_registry(check_manifest=False)
    daily = [entity.daily_model for entity in registry.entities.values() if entity.daily_model]
    return (registry.activity.model, *daily)


def _mart_rows(warehouse: Any) -> dict[str, int]:
    """Rows of each fact mart, so a report states the size the figures were measured at.

    On Spark they are counted in the snapshot just published (one session, one query per
    mart), where the API reads them."""
    from daybook.warehouse import connection

    if warehouse.backend == "spark":
        from daybook.bench.served import served_rows

        return {
            name: int(served_rows(warehouse, f"select count(*) from {name}")[0][0])
            for name in fact_marts()
        }
    with connection(warehouse, read_only=True) as con:
        counts = {}
        for name in fact_marts():
            cursor = con.cursor()
            cursor.execute(f"select count(*) from {name}")
            counts[name] = int(cursor.fetchone()[0])
        return counts


def _refresh(args: dict[str, Any]) -> dict[str, Any]:
    """For each file of new heartbeats: load it, then one refresh cycle (the freshness path)."""
    from daybook.load import load_files
    from daybook.refresh import incremental_build, refresh_once, summary_dict

    warehouse = parse_database_url(args["url"])
    cycles, builds = [], []

    def recorded_build(target: Any) -> Any:
        """A cycle's own build, kept for its node timings (where a refresh's time goes)."""
        builds.append(incremental_build(target))
        return builds[-1]

    for path in args["files"]:
        builds.clear()
        started = time.perf_counter()
        load_files(warehouse, "heartbeats", [Path(path)])
        loaded = time.perf_counter()
        cycle = refresh_once(warehouse, force=True, build=recorded_build)
        cycles.append(
            {
                "load_seconds": loaded - started,
                "cycle": summary_dict(cycle),
                "end_to_end_seconds": time.perf_counter() - started,
                "nodes": node_seconds(builds[-1]) if builds else [],
            }
        )
    return {"cycles": cycles}


def _publish(args: dict[str, Any]) -> dict[str, Any]:
    """Publish what the warehouse holds now, without building, to whatever serves it (with
    ``DAYBOOK_SERVING_URL`` in the environment: that serving store)."""
    from daybook.pipeline import publish

    warehouse = parse_database_url(args["url"])
    started = time.perf_counter()
    publication = publish(warehouse)
    return {
        "publish_seconds": time.perf_counter() - started,
        "publication": publication.description if publication else None,
    }


def _mark(args: dict[str, Any]) -> dict[str, Any]:
    """Record the refresh high-water mark after a full build (so refresh counts only arrivals)."""
    from daybook.refresh import measure_arrivals
    from daybook.refresh_state import save_state

    warehouse = parse_database_url(args["url"])
    arrivals = measure_arrivals(warehouse, None)
    save_state(warehouse, arrivals)
    return {"heartbeats": arrivals.heartbeats}


STEPS = {
    "generate": _generate,
    "load": _load,
    "floor": _floor,
    "build": _build,
    "refresh": _refresh,
    "mark": _mark,
    "publish": _publish,
}


def _emit(result: dict[str, Any]) -> None:
    """The child's one line of results, which ``run_phase`` reads."""
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


def main(argv: list[str]) -> None:
    step, raw = argv[1], argv[2]
    _emit(STEPS[step](json.loads(raw)))


if __name__ == "__main__":
    main(sys.argv)
