"""``daybook bench``: generate, load, build, refresh and serve at a chosen size, and measure.

Each backend gets its own warehouse (a DuckDB file, a fresh PostgreSQL
database dropped afterwards, or a local Spark server started in the work folder and
stopped afterwards: ``daybook.bench.spark``, which says what it skips and why).
Phases run in child processes for their own time and peak memory; the API and the
floor apps run under the same gunicorn command line; wrk drives them from its own
process, on loopback, for a bounded time per run, and once more per endpoint
beside 64 slow connections (``daybook.bench.slow``). Results go to
``bench/results/<timestamp>.json`` and ``.md``, and the markdown is printed.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from daybook.bench import targets
from daybook.bench.http import SATURATION_CONNECTIONS, measure_http
from daybook.bench.phases import PhaseError, run_phase
from daybook.bench.report import describe_code, describe_machine, log, markdown, write_results
from daybook.bench.requests import GRANULARITIES
from daybook.bench.settings import BenchSettings
from daybook.bench.slow import SLOW_CONNECTIONS
from daybook.bench.warehouses import (
    HISTORY_RATIO,
    build_and_record,
    build_history,
    drop_warehouse,
    make_warehouse,
    measure_refresh,
)
from daybook.config import ConfigError, Warehouse, parse_database_url, project_dir

DEFAULT_HEARTBEATS = 25_000_000
# The data's shape, as issue 7 sets it: 25M heartbeats over a year form about
# 2M user-device-day rows (10,000 users, about 12 heartbeats per active day).
BENCH_DAYS = 365
HEARTBEATS_PER_USER = 2_500
HEARTBEATS_PER_ACTIVE_DAY = 12.0


BACKEND_GROUPS = {"both": ["duckdb", "postgres"], "all": ["duckdb", "postgres", "spark"]}


def generate_args(out_dir: Path, heartbeats: int, seed: int) -> dict[str, Any]:
    """The generate phase's arguments for a history of ``heartbeats`` in the bench's shape."""
    return {
        "out_dir": str(out_dir),
        "heartbeats": heartbeats,
        "seed": seed,
        "days": BENCH_DAYS,
        "users": max(1, heartbeats // HEARTBEATS_PER_USER),
        "per_active_day": HEARTBEATS_PER_ACTIVE_DAY,
    }


def bench_backend(
    backend: str,
    settings: BenchSettings,
    files: dict[str, list[str]],
    small_files: dict[str, list[str]] | None,
) -> dict[str, Any]:
    """Every phase on one backend: the small history's refresh, then load, floor, build,
    refresh and the HTTP runs over the full history; warehouses dropped unless kept."""
    if backend == "spark":
        from daybook.bench.spark import bench_spark

        return bench_spark(settings, files, small_files)
    work, heartbeats = settings.work, settings.heartbeats
    log_path = work / f"phases-{backend}.log"
    data: dict[str, Any] = {"phases": {}, "refresh": []}
    made: list[Warehouse] = []
    try:
        if small_files is not None:
            small = make_warehouse(backend, work, "small")
            made.append(small)
            log(f"{backend}: building the small history ({heartbeats // HISTORY_RATIO:,})")
            build_history(small, small_files, work, log_path)
            data["refresh"] += measure_refresh(
                small, heartbeats // HISTORY_RATIO, work, log_path, settings.refresh_cycles
            )

        warehouse = make_warehouse(backend, work, "full")
        made.append(warehouse)
        log(f"{backend}: loading and building {heartbeats:,} heartbeats")
        build_and_record(warehouse, files, work, log_path, data)
        data["refresh"] += measure_refresh(
            warehouse, heartbeats, work, log_path, settings.refresh_cycles
        )
        data.update(measure_http(warehouse, settings))
    except PhaseError as error:
        # what was measured is kept and reported; the bench exits 1 after writing it
        data["failed"] = [error.note]
        log(f"{backend}: FAILED {data['failed'][0]}")
    finally:
        if not settings.keep:
            for warehouse in made:
                drop_warehouse(warehouse)
    return data


def _check_spark_url(url: str, backends: list[str]) -> None:
    """``--spark-url`` only with Spark among the backends, a Spark Connect URL, reachable,
    and an empty warehouse; else a usage error naming what is wrong, before any work."""
    from daybook.bench.spark import SparkWarehouseNotEmpty, check_empty_warehouse
    from daybook.spark.session import SparkUnreachable, check_reachable

    if "spark" not in backends:
        raise click.UsageError("--spark-url needs --backend spark or all")
    try:
        is_spark = parse_database_url(url).backend == "spark"
    except ConfigError:
        is_spark = False
    if not is_spark:
        raise click.BadParameter(f"{url!r} is not a Spark Connect URL (sc://HOST:PORT)")
    try:
        check_reachable(url)
        check_empty_warehouse(url)
    except (SparkUnreachable, SparkWarehouseNotEmpty) as error:
        raise click.BadParameter(str(error), param_hint="'--spark-url'") from error


@click.command()
@click.option(
    "--heartbeats",
    type=click.IntRange(min=1000),
    default=DEFAULT_HEARTBEATS,
    show_default=True,
    help="Size of the generated history (25M is about 2M user-device-day rows).",
)
@click.option(
    "--backend",
    type=click.Choice(["duckdb", "postgres", "spark", "both", "all"]),
    default="both",
    show_default=True,
    help="both: DuckDB and PostgreSQL; all: those and Spark (a local[2] server the bench "
    "starts in its work folder and stops at the end).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=5.0,
    show_default=True,
    help="Seconds per load-tool run (each endpoint x granularity x clients x server).",
)
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn workers.")
@click.option("--threads", type=int, default=4, show_default=True, help="Threads per worker.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where results go (default: bench/results in the project).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Scratch space for data and warehouses (default: a temporary folder).",
)
@click.option("--keep", is_flag=True, help="Keep the scratch warehouses afterwards.")
@click.option(
    "--small-history/--no-small-history",
    default=True,
    show_default=True,
    help=f"Also measure the refresh over a history {HISTORY_RATIO} times smaller.",
)
@click.option(
    "--refresh-cycles",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Five-minute refreshes measured per history size.",
)
@click.option(
    "--granularity",
    "granularities",
    type=click.Choice(GRANULARITIES),
    multiple=True,
    help="Granularities to load-test (repeatable; default: all four).",
)
@click.option(
    "--spark-url",
    metavar="sc://HOST:PORT",
    default=None,
    help="Bench Spark on this running Spark Connect server (a cluster, or `daybook spark "
    "start`) instead of a local server of its own. Its warehouse must be empty: the bench "
    "leaves its tables there.",
)
def bench(
    heartbeats: int,
    backend: str,
    duration: float,
    workers: int,
    threads: int,
    seed: int,
    results_dir: Path | None,
    work_dir: Path | None,
    keep: bool,
    small_history: bool,
    refresh_cycles: int,
    granularities: tuple[str, ...],
    spark_url: str | None,
) -> None:
    """Measure generation, load, build, refresh and API latency/throughput, with floors."""
    from daybook.bench.wrk import wrk_path

    wrk_path()  # fail early with the install hint
    backends = BACKEND_GROUPS.get(backend, [backend])
    if spark_url is not None:
        _check_spark_url(spark_url, backends)
    results_dir = results_dir or project_dir() / "bench" / "results"
    started = datetime.now(UTC).replace(microsecond=0)
    temporary = None
    if work_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="daybook-bench-")
        work_dir = Path(temporary.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    settings = BenchSettings(
        heartbeats=heartbeats,
        work=work_dir,
        duration=duration,
        workers=workers,
        threads=threads,
        refresh_cycles=refresh_cycles,
        granularities=granularities or GRANULARITIES,
        keep=keep,
        spark_url=spark_url,
    )
    results: dict[str, Any] = {
        "started_at": started.isoformat(),
        "machine": describe_machine(),
        "code": describe_code(),
        "config": {
            "heartbeats": heartbeats,
            "duration": duration,
            "workers": workers,
            "threads": threads,
            "seed": seed,
            "saturation_connections": SATURATION_CONNECTIONS,
            "slow_connections": SLOW_CONNECTIONS,
            "history_ratio": HISTORY_RATIO,
            "refresh_cycles": refresh_cycles,
            "granularities": list(settings.granularities),
            "days": BENCH_DAYS,
            "heartbeats_per_user": HEARTBEATS_PER_USER,
            "heartbeats_per_active_day": HEARTBEATS_PER_ACTIVE_DAY,
        },
        "backends": {},
        "notes": [],
    }
    try:
        log_path = work_dir / "phases.log"
        log(f"generating {heartbeats:,} heartbeats")
        generated = run_phase(
            "generate", generate_args(work_dir / "raw", heartbeats, seed), log_path=log_path
        )
        small = None
        if small_history:
            small = run_phase(
                "generate",
                generate_args(
                    work_dir / "raw-small", max(1000, heartbeats // HISTORY_RATIO), seed + 1
                ),
                log_path=log_path,
            )
        log(f"generated in {generated.seconds:.1f}s")
        for name in backends:
            started_backend = time.perf_counter()
            data = bench_backend(
                name, settings, generated.data["files"], small.data["files"] if small else None
            )
            data["phases"] = {
                "generate": {"seconds": generated.seconds, "peak_rss_mb": generated.peak_rss_mb},
                **data["phases"],
            }
            data["seconds"] = time.perf_counter() - started_backend
            results["backends"][name] = data
            results["notes"] += [f"{name}: skipped {why}" for why in data.get("skipped", [])]
            results["notes"] += [f"{name}: FAILED {what}" for what in data.get("failed", [])]
    finally:
        if temporary is not None and not keep:
            temporary.cleanup()
    results["targets"] = targets.record(results)
    json_path, md_path = write_results(results, results_dir)
    click.echo(markdown(results))
    log(f"results: {json_path} and {md_path}")
    failed = [note for note in results["notes"] if ": FAILED " in note]
    if failed:
        raise click.ClickException(f"{len(failed)} phase(s) failed: {'; '.join(failed)}")
