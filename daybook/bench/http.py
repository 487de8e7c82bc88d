"""The benchmark's HTTP measurements: the API (answer cache on and off), the bare handler
and a trivial view under the same gunicorn command line, driven by wrk, plus the
in-process driver floor and the API beside slow connections; the same runs per metric
kind (simple, ratio, rolling 28d, offset) at one granularity.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from daybook.bench.report import log
from daybook.bench.settings import BenchSettings
from daybook.bench.warehouses import bench_env
from daybook.bench.wrk import run_wrk
from daybook.config import Warehouse

SATURATION_CONNECTIONS = 16
# The load runs of one request group: server, clients (the answer cache off at 4 only).
LOAD_RUNS = (("api", (1, 4)), ("api_uncached", (4,)), ("bare", (1, 4)))
# The runs by metric kind compare kinds at 4 clients; how latency grows from 1 to 4 clients
# is the runs by granularity's to show, so the kinds (11 endpoint/kind pairs today) skip it.
KIND_LOAD_RUNS = (("api", (4,)), ("api_uncached", (4,)), ("bare", (4,)))
# The runs by metric kind last this share of --duration (at least 1 s): with four kinds
# per endpoint they would otherwise almost double the API phase.
KIND_DURATION_SHARE = 0.5


def create_token(warehouse: Warehouse, work: Path, extra_env: dict[str, str] | None = None) -> str:
    """A bearer token for every client, made by ``daybook token create`` in the environment the
    API will run in (``extra_env``: e.g. a serving store, which holds the token store then)."""
    completed = subprocess.run(
        [sys.executable, "-m", "daybook.cli", "token", "create", "--all-clients"],
        env={**os.environ, **bench_env(warehouse, work), **(extra_env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise click.ClickException(f"token create failed: {completed.stderr}")
    return completed.stdout.strip().splitlines()[-1].strip()


def warm_up(server: Any, paths: list[str], headers: dict[str, str]) -> None:
    """Send every path once to ``server`` (a ``servers.start_app`` server), eight at a time,
    so each worker has opened its data and compiled its queries before anything is
    measured; any failure stops the bench (a run of failing requests would measure errors),
    naming the server's log."""
    failures = _send_each(server.base_url, paths, headers)
    if failures:
        raise click.ClickException(
            f"{server.name}: {len(failures)} warm-up requests failed, e.g. "
            f"{failures[0]}; see {server.log_path}"
        )


def _send_each(base_url: str, paths: list[str], headers: dict[str, str]) -> list[str]:
    """Every path once, eight at a time; the failures."""
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


def load_runs(
    servers: dict[str, Any],
    requests: list[Any],
    *,
    seconds: float,
    headers: dict[str, str],
    work: Path,
    runs: tuple[tuple[str, tuple[int, ...]], ...] = LOAD_RUNS,
) -> dict[str, dict[str, Any]]:
    """``runs`` (server name, client counts; ``LOAD_RUNS`` unless given) over ``requests``,
    one wrk thread each: {server: {clients: wrk run with its req/s}}. The ``bare`` server
    is sent the bare app's paths, any other the API's; ``servers`` needs only the names
    ``runs`` uses (the Spark bench: its one uncached API)."""
    api_paths = [request.api_path() for request in requests]
    bare_paths = [request.bare_path() for request in requests]
    found: dict[str, dict[str, Any]] = {}
    for name, client_counts in runs:
        for clients in client_counts:
            run = run_wrk(
                servers[name].base_url,
                bare_paths if name == "bare" else api_paths,
                connections=clients,
                seconds=seconds,
                headers=headers,
                threads=1,
                work_dir=work,
            )
            found.setdefault(name, {})[f"{clients}"] = {**asdict(run), "rps": run.rps}
    return found


def measure_kinds(
    warehouse: Warehouse,
    catalog: Any,
    groups: dict[tuple[str, str], list[Any]],
    skipped: list[str],
    servers: dict[str, Any],
    *,
    seconds: float,
    headers: dict[str, str],
    work: Path,
) -> dict[str, Any]:
    """The load runs at 4 clients (``KIND_LOAD_RUNS``) and the driver floor per (entity,
    metric kind) of ``requests.sample_kind_requests``, with the metrics each kind rotated
    through."""
    from daybook.bench.inproc import measure_driver
    from daybook.bench.requests import KIND_GRANULARITY

    entities: dict[str, dict[str, Any]] = {}
    for (entity, kind), requests in groups.items():
        measured = {
            "metrics": list(dict.fromkeys(request.metric for request in requests)),
            "driver": measure_driver(warehouse, catalog, requests, seconds=max(0.5, seconds / 2)),
            **load_runs(
                servers, requests, seconds=seconds, headers=headers, work=work, runs=KIND_LOAD_RUNS
            ),
        }
        entities.setdefault(entity, {})[kind] = measured
        log(
            f"{warehouse.backend} {entity} {kind} ({KIND_GRANULARITY}): API p50 "
            f"{measured['api']['4']['p50_ms']:.2f} ms (uncached "
            f"{measured['api_uncached']['4']['p50_ms']:.2f} ms), bare "
            f"{measured['bare']['4']['p50_ms']:.2f} ms, driver "
            f"{measured['driver']['p50_ms']:.2f} ms (4 clients)"
        )
    return {
        "granularity": KIND_GRANULARITY,
        "seconds_per_run": seconds,
        "entities": entities,
        "skipped": skipped,
    }


def measure_http(warehouse: Warehouse, settings: BenchSettings) -> dict[str, Any]:
    """Latency and throughput of the API, the bare handler and a trivial view, plus floors."""
    from daybook.bench.inproc import measure_driver
    from daybook.bench.requests import sample_kind_requests, sample_requests
    from daybook.bench.servers import start_app
    from daybook.bench.slow import measure_beside_slow_clients
    from daybook.semantic import load_catalog

    work, duration = settings.work, settings.duration
    catalog = load_catalog()
    groups = sample_requests(warehouse, catalog, granularities=settings.granularities)
    kind_groups, kinds_skipped = sample_kind_requests(warehouse, catalog)
    token = create_token(warehouse, work)
    headers = {"Authorization": f"Bearer {token}"}
    env = bench_env(warehouse, work)
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
        # the API; the same API with its answer cache off (every request queries the
        # warehouse); the floor apps
        for label, app, extra in (
            ("api", "api", {}),
            ("api-uncached", "api", {"DAYBOOK_ANSWER_CACHE_MB": "0"}),
            ("bare", "bare", {}),
        ):
            server = start_app(
                app,
                f"{label}-{warehouse.backend}",
                env={**env, **extra},
                log_dir=work,
                workers=settings.workers,
                threads=settings.threads,
            )
            servers.append(server)
        api, api_uncached, bare = servers
        by_name = {"api": api, "api_uncached": api_uncached, "bare": bare}
        everything = [
            request
            for batches in (groups, kind_groups)
            for batch in batches.values()
            for request in batch
        ]
        api_paths = [request.api_path() for request in everything]
        for server, paths in (
            (api, api_paths),
            (api_uncached, api_paths),
            (bare, [request.bare_path() for request in everything]),
        ):
            warm_up(server, paths, headers)
        for (entity, granularity), requests in groups.items():
            key = f"{entity}/{granularity}"
            driver[key] = measure_driver(
                warehouse, catalog, requests, seconds=max(0.5, duration / 2)
            )
            runs = load_runs(by_name, requests, seconds=duration, headers=headers, work=work)
            for name, by_clients in runs.items():
                results[name][key] = by_clients
            log(
                f"{warehouse.backend} {key}: API p50 "
                f"{results['api'][key]['4']['p50_ms']:.2f} ms (uncached "
                f"{results['api_uncached'][key]['4']['p50_ms']:.2f} ms), bare "
                f"{results['bare'][key]['4']['p50_ms']:.2f} ms, driver "
                f"{driver[key]['p50_ms']:.2f} ms (4 clients)"
            )
        # the same runs per metric kind at one granularity, shorter (KIND_DURATION_SHARE)
        results["by_metric_kind"] = measure_kinds(
            warehouse,
            catalog,
            kind_groups,
            kinds_skipped,
            by_name,
            seconds=max(1.0, duration * KIND_DURATION_SHARE),
            headers=headers,
            work=work,
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
            log(
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
    recorded: dict[str, Any] = {"http": results, "driver": driver, "worker_rss_mb": rss}
    if kinds_skipped:  # the report's notes (cli.py: "<backend>: skipped ...")
        recorded["skipped"] = [f"API latency by metric type, {why}" for why in kinds_skipped]
    return recorded
