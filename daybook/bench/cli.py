"""``daybook bench``: generate, load, build, refresh and serve at a chosen size, and measure.

Each backend gets its own warehouse (a DuckDB file, or a fresh PostgreSQL
database dropped afterwards). Phases run in child processes for their own
time and peak memory; the API and the floor apps run under the same gunicorn
command line; wrk drives them from its own process, on loopback, for a
bounded time per run, and once more per endpoint beside 64 slow connections
(``daybook.bench.slow``). Results go to ``bench/results/<timestamp>.json`` and
``.md``, and the markdown is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from daybook.bench.phases import run_phase
from daybook.bench.report import describe_machine, markdown, write_results
from daybook.bench.requests import GRANULARITIES
from daybook.bench.slow import SLOW_CONNECTIONS
from daybook.config import Warehouse, parse_database_url, project_dir

DEFAULT_HEARTBEATS = 25_000_000
SATURATION_CONNECTIONS = 16
HISTORY_RATIO = 10
# The data's shape, as issue 7 sets it: 25M heartbeats over a year form about
# 2M user-device-day rows (10,000 users, about 12 heartbeats per active day).
BENCH_DAYS = 365
HEARTBEATS_PER_USER = 2_500
HEARTBEATS_PER_ACTIVE_DAY = 12.0


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


def _log(message: str) -> None:
    click.echo(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", err=True)


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


def _env(warehouse: Warehouse, work: Path) -> dict[str, str]:
    return {
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": str(work / "state"),
        "DAYBOOK_PROJECT_DIR": str(project_dir()),
    }


def build_history(
    warehouse: Warehouse, files: dict[str, list[str]], work: Path, log_path: Path
) -> dict[str, Any]:
    """Load and fully build one warehouse; record the refresh high-water mark."""
    env = _env(warehouse, work)
    phases = {}
    phases["load"] = run_phase(
        "load", {"url": warehouse.url, "files": files}, log_path=log_path, env=env
    )
    phases["build"] = run_phase(
        "build", {"url": warehouse.url, "full_refresh": True}, log_path=log_path, env=env
    )
    run_phase("mark", {"url": warehouse.url}, log_path=log_path, env=env)
    return phases


def measure_refresh(
    warehouse: Warehouse, history: int, work: Path, log_path: Path, cycles: int = 2
) -> list[dict[str, Any]]:
    """Five minutes of new heartbeats, loaded and refreshed end to end, ``cycles`` times.

    All cycles run in one child process, as ``daybook refresh --every 5m`` does:
    the first pays for importing dbt ("cold"), the next ones are the steady state.
    """
    from datetime import timedelta

    from daybook.bench.arrivals import WINDOW, write_arrivals
    from daybook.serving import freshness

    newest = freshness(warehouse)
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
        env=_env(warehouse, work),
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
        _log(
            f"{warehouse.backend}: refresh of {count:,} new heartbeats over {history:,}"
            f"{' (cold)' if index == 0 else ''}: {cycle['end_to_end_seconds']:.2f}s end to end"
        )
    return runs


def create_token(warehouse: Warehouse, work: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.cli", "token", "create", "--all-clients"],
        env={**os.environ, **_env(warehouse, work)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise click.ClickException(f"token create failed: {completed.stderr}")
    return completed.stdout.strip().splitlines()[-1].strip()


def warm_up(base_url: str, paths: list[str], headers: dict[str, str]) -> list[str]:
    """Send every path once, eight at a time, so each worker has opened its data and compiled
    its queries before anything is measured; returns the failures."""
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def fetch(path: str) -> str | None:
        request = urllib.request.Request(base_url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
                return None if response.status == 200 else f"{response.status} {path}"
        except urllib.error.HTTPError as error:
            return f"{error.code} {path}: {error.read()[:200]!r}"
        except OSError as error:
            return f"{error!r} {path}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [failure for failure in pool.map(fetch, paths) if failure]


def measure_http(
    warehouse: Warehouse,
    work: Path,
    duration: float,
    workers: int,
    threads: int,
    granularities: tuple[str, ...],
) -> dict[str, Any]:
    """Latency and throughput of the API, the bare handler and a trivial view, plus floors."""
    from daybook.bench.inproc import measure_driver
    from daybook.bench.requests import sample_requests
    from daybook.bench.servers import start_api, start_bare
    from daybook.bench.slow import measure_beside_slow_clients
    from daybook.bench.wrk import run_wrk
    from daybook.semantic import load_catalog

    catalog = load_catalog()
    groups = sample_requests(warehouse, catalog, granularities=granularities)
    token = create_token(warehouse, work)
    headers = {"Authorization": f"Bearer {token}"}
    env = _env(warehouse, work)
    servers = []
    results: dict[str, Any] = {
        "api": {},
        "api_uncached": {},
        "bare": {},
        "saturation": {},
        "slow_clients": {},
        "trivial": {},
    }
    driver: dict[str, Any] = {}
    try:
        api = start_api(
            f"api-{warehouse.backend}", env=env, log_dir=work, workers=workers, threads=threads
        )
        servers.append(api)
        # The same API with its answer cache off: every request queries the warehouse.
        api_uncached = start_api(
            f"api-uncached-{warehouse.backend}",
            env={**env, "DAYBOOK_ANSWER_CACHE_MB": "0"},
            log_dir=work,
            workers=workers,
            threads=threads,
        )
        servers.append(api_uncached)
        bare = start_bare(
            f"bare-{warehouse.backend}", env=env, log_dir=work, workers=workers, threads=threads
        )
        servers.append(bare)
        everything = [request for batch in groups.values() for request in batch]
        api_paths = [request.api_path() for request in everything]
        for server, paths in (
            (api, api_paths),
            (api_uncached, api_paths),
            (bare, [request.bare_path() for request in everything]),
        ):
            failures = warm_up(server.base_url, paths, headers)
            if failures:
                raise click.ClickException(
                    f"{server.name}: {len(failures)} warm-up requests failed, e.g. "
                    f"{failures[0]}; see {server.log_path}"
                )
        for (entity, granularity), requests in groups.items():
            key = f"{entity}/{granularity}"
            driver[key] = measure_driver(
                warehouse, catalog, requests, seconds=max(0.5, duration / 2)
            )
            api_paths = [request.api_path() for request in requests]
            for name, server, paths, client_counts in (
                ("api", api, api_paths, (1, 4)),
                ("api_uncached", api_uncached, api_paths, (4,)),
                ("bare", bare, [request.bare_path() for request in requests], (1, 4)),
            ):
                for clients in client_counts:
                    run = run_wrk(
                        server.base_url,
                        paths,
                        connections=clients,
                        seconds=duration,
                        headers=headers,
                        threads=1,
                        work_dir=work,
                    )
                    results[name].setdefault(key, {})[f"{clients}"] = {
                        **asdict(run),
                        "rps": run.rps,
                    }
            _log(
                f"{warehouse.backend} {key}: API p50 "
                f"{results['api'][key]['4']['p50_ms']:.2f} ms (uncached "
                f"{results['api_uncached'][key]['4']['p50_ms']:.2f} ms), bare "
                f"{results['bare'][key]['4']['p50_ms']:.2f} ms, driver "
                f"{driver[key]['p50_ms']:.2f} ms (4 clients)"
            )
        for entity in {entity for entity, _ in groups}:
            mixed = [
                request for (e, _), batch in groups.items() if e == entity for request in batch
            ]
            saturation = {}
            api_paths = [request.api_path() for request in mixed]
            for name, server, paths in (
                ("api", api, api_paths),
                ("api_uncached", api_uncached, api_paths),
                ("bare", bare, [request.bare_path() for request in mixed]),
            ):
                run = run_wrk(
                    server.base_url,
                    paths,
                    connections=SATURATION_CONNECTIONS,
                    seconds=duration,
                    headers=headers,
                    work_dir=work,
                )
                saturation[name] = {**asdict(run), "rps": run.rps}
            results["saturation"][entity] = saturation
            # the API's latency with slow clients holding connections open beside the load
            results["slow_clients"][entity] = slow = measure_beside_slow_clients(
                api.base_url, api_paths, headers=headers, seconds=duration, work_dir=work
            )
            _log(
                f"{warehouse.backend} {entity}: API p50/p99 {slow['with']['p50_ms']:.2f}/"
                f"{slow['with']['p99_ms']:.2f} ms with {slow['slow_connections']} slow "
                f"connections open ({slow['without']['p50_ms']:.2f}/"
                f"{slow['without']['p99_ms']:.2f} ms without)"
            )
        trivial = run_wrk(
            bare.base_url,
            ["/trivial"],
            connections=SATURATION_CONNECTIONS,
            seconds=duration,
            work_dir=work,
        )
        results["trivial"] = {**asdict(trivial), "rps": trivial.rps}
        rss = {
            "api": api.worker_peak_rss_mb(),
            "api_uncached": api_uncached.worker_peak_rss_mb(),
            "bare": bare.worker_peak_rss_mb(),
        }
    finally:
        for server in servers:
            server.stop()
    return {"http": results, "driver": driver, "worker_rss_mb": rss}


def bench_backend(
    backend: str,
    files: dict[str, list[str]],
    small_files: dict[str, list[str]] | None,
    heartbeats: int,
    work: Path,
    duration: float,
    workers: int,
    threads: int,
    keep: bool,
    refresh_cycles: int,
    granularities: tuple[str, ...],
) -> dict[str, Any]:
    log_path = work / f"phases-{backend}.log"
    data: dict[str, Any] = {"phases": {}, "refresh": []}
    made: list[Warehouse] = []
    try:
        if small_files is not None:
            small = make_warehouse(backend, work, "small")
            made.append(small)
            _log(f"{backend}: building the small history ({heartbeats // HISTORY_RATIO:,})")
            build_history(small, small_files, work, log_path)
            data["refresh"] += measure_refresh(
                small, heartbeats // HISTORY_RATIO, work, log_path, refresh_cycles
            )

        warehouse = make_warehouse(backend, work, "full")
        made.append(warehouse)
        _log(f"{backend}: loading and building {heartbeats:,} heartbeats")
        phases = build_history(warehouse, files, work, log_path)
        for name, phase in phases.items():
            data["phases"][name] = {"seconds": phase.seconds, "peak_rss_mb": phase.peak_rss_mb}
        data["mart_rows"] = phases["build"].data["mart_rows"]
        _log(f"{backend}: load {phases['load'].seconds:.1f}s, build {phases['build'].seconds:.1f}s")
        data["refresh"] += measure_refresh(warehouse, heartbeats, work, log_path, refresh_cycles)
        data.update(measure_http(warehouse, work, duration, workers, threads, granularities))
    finally:
        if not keep:
            for warehouse in made:
                drop_warehouse(warehouse)
    return data


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
    type=click.Choice(["duckdb", "postgres", "both"]),
    default="both",
    show_default=True,
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
) -> None:
    """Measure generation, load, build, refresh and API latency/throughput, with floors."""
    from daybook.bench.wrk import wrk_path

    wrk_path()  # fail early with the install hint
    backends = ["duckdb", "postgres"] if backend == "both" else [backend]
    results_dir = results_dir or project_dir() / "bench" / "results"
    started = datetime.now(UTC).replace(microsecond=0)
    temporary = None
    if work_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="daybook-bench-")
        work_dir = Path(temporary.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started_at": started.isoformat(),
        "machine": describe_machine(),
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
            "granularities": list(granularities or GRANULARITIES),
            "days": BENCH_DAYS,
            "heartbeats_per_user": HEARTBEATS_PER_USER,
            "heartbeats_per_active_day": HEARTBEATS_PER_ACTIVE_DAY,
        },
        "backends": {},
        "notes": [],
    }
    try:
        log_path = work_dir / "phases.log"
        _log(f"generating {heartbeats:,} heartbeats")
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
        _log(f"generated in {generated.seconds:.1f}s")
        for name in backends:
            started_backend = time.perf_counter()
            data = bench_backend(
                name,
                generated.data["files"],
                small.data["files"] if small else None,
                heartbeats,
                work_dir,
                duration,
                workers,
                threads,
                keep,
                refresh_cycles,
                granularities or GRANULARITIES,
            )
            data["phases"] = {
                "generate": {"seconds": generated.seconds, "peak_rss_mb": generated.peak_rss_mb},
                **data["phases"],
            }
            data["seconds"] = time.perf_counter() - started_backend
            results["backends"][name] = data
    finally:
        if temporary is not None and not keep:
            temporary.cleanup()
    json_path, md_path = write_results(results, results_dir)
    click.echo(markdown(results))
    _log(f"results: {json_path} and {md_path}")
