"""The benchmark's HTTP measurements: the API (answer cache on and off), the bare handler
and a trivial view under the same gunicorn command line, driven by wrk, plus the
in-process driver floor and the API beside slow connections.
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
from daybook.bench.warehouses import bench_env
from daybook.config import Warehouse

SATURATION_CONNECTIONS = 16


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
    from daybook.bench.servers import start_app
    from daybook.bench.slow import measure_beside_slow_clients
    from daybook.bench.wrk import run_wrk
    from daybook.semantic import load_catalog

    catalog = load_catalog()
    groups = sample_requests(warehouse, catalog, granularities=granularities)
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
                workers=workers,
                threads=threads,
            )
            servers.append(server)
        api, api_uncached, bare = servers
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
            log(
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
    return {"http": results, "driver": driver, "worker_rss_mb": rss}
