"""The benchmark on Spark: its own local Spark Connect server and the phases that apply there.

Why a path of its own: a Spark warehouse is a server, not a file or a database to create
and drop, and a Spark query costs a few hundred milliseconds, so the HTTP runs that hold
DuckDB and PostgreSQL to a millisecond floor would only measure a queue on Spark. What
runs, in the bench's work folder, on one ``local[2]`` server started here and stopped at
the end even on failure (and by ``daybook.spark.watch`` should the bench be killed):

* load, the build's floor (:mod:`daybook.bench.floor`, its Spark SQL statement on the
  same loaded data, dropped before the build), full build (dbt-spark) and its publish (a
  Spark snapshot database), in measured child processes as on the other backends; the
  report gives Spark's build / floor ratio, without a target (issue 14 sets none);
* the refresh of five-minute deliveries over the full history (load, incremental dbt
  run, Spark snapshot publish);
* the API straight from Spark, answer cache off (every request reaches Spark), with few
  sampled requests, and the same compiled SQL through one Spark Connect session in
  process (the driver floor);
* a publish from Spark into a DuckDB serving store (``DAYBOOK_SERVING_URL``) and the API
  reading that store, answer cache off, with its driver floor.

What does not apply is skipped with the reason, recorded in ``data["skipped"]`` (the
report's notes) and printed: see :func:`bench_spark`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daybook.bench.phases import PhaseError, run_phase
from daybook.bench.report import log
from daybook.bench.settings import BenchSettings
from daybook.bench.warehouses import bench_env, build_and_record, measure_refresh
from daybook.config import Warehouse, parse_database_url

# Requests sampled per (entity, granularity): each costs a Spark query or two, so a few
# are enough to rotate through every metric of the endpoint without minutes of warm-up.
SPARK_REQUESTS_PER_GROUP = 6
# The load runs of the one server (``http.load_runs``): the API, answer cache off.
SPARK_LOAD_RUNS = (("api_uncached", (1, 4)),)
SPARK_MIN_RUN_SECONDS = 5.0  # each wrk run of the API straight from Spark lasts at least this
SERVER_FOLDER = "spark-server"
STORE_FILE = Path("spark-store") / "serving.duckdb"
STORE_LABEL = "DuckDB store"


@contextmanager
def local_spark_server(work: Path) -> Iterator[Warehouse]:
    """A local Spark Connect server whose state lives in ``work``; stopped on the way out.

    Its heap is ``DAYBOOK_SPARK_DRIVER_MEMORY`` (else ``daybook.spark.server``'s default)."""
    from daybook.spark import server
    from daybook.spark.watch import watch_owner

    state = work / SERVER_FOLDER
    info = server.start_on_a_free_port(state_dir=state, progress=log)
    watch_owner(state)  # stops it should the bench be killed before the finally below
    try:
        yield parse_database_url(info.url)
    finally:
        server.stop(state)
        log("spark: stopped the local Spark server")


def _shown(url: str) -> str:
    """A Spark Connect URL without its parameters, which can hold a token."""
    return url.split("/;", 1)[0]


class SparkWarehouseNotEmpty(ValueError):
    """``--spark-url`` names a server whose warehouse holds tables the bench would replace."""


def check_empty_warehouse(url: str) -> None:
    """Refuse a ``--spark-url`` server whose warehouse holds tables: the bench writes its
    ``raw``, staging, intermediate and marts tables there (the dbt project's fixed schemas)
    and would replace a user's own. Called before anything is generated."""
    from daybook.warehouse import connection

    warehouse = parse_database_url(url)
    with connection(warehouse, read_only=True) as con:
        cursor = con.cursor()
        databases = [row[0] for row in cursor.execute("show databases").fetchall()]
        tables = [row[1] for row in cursor.execute("show tables in default").fetchall()]
    held = [f"database {name}" for name in databases if name != "default"]
    held += [f"table default.{name}" for name in tables]
    if held:
        raise SparkWarehouseNotEmpty(
            f"the Spark warehouse at {_shown(url)} is not empty ({', '.join(held[:5])}"
            f"{', ...' if len(held) > 5 else ''}): the bench writes its raw, staging, "
            "intermediate and marts tables there; give it a server with an empty warehouse, "
            "or leave out --spark-url for a local server of its own"
        )


@contextmanager
def running_spark_server(url: str) -> Iterator[Warehouse]:
    """The server ``--spark-url`` names (checked empty by the command): not started nor
    stopped here, and left holding the bench's tables."""
    warehouse = parse_database_url(url)
    log(f"spark: benching on the running server at {_shown(url)} (left running)")
    yield warehouse


def _skip(data: dict[str, Any], what: str, why: str) -> None:
    data["skipped"].append(f"{what}: {why}")
    log(f"spark: skipped {what}: {why}")


def bench_spark(
    settings: BenchSettings,
    files: dict[str, list[str]],
    small_files: dict[str, list[str]] | None,
) -> dict[str, Any]:
    """Every Spark phase of one bench run; the same record keys as the other backends where
    the phase is the same, ``spark_api`` for the two API runs and ``skipped`` for reasons."""
    work, heartbeats = settings.work, settings.heartbeats
    log_path = work / "phases-spark.log"
    data: dict[str, Any] = {"phases": {}, "refresh": [], "skipped": []}
    if small_files is not None:
        _skip(
            data,
            "the refresh over the smaller history",
            "one Spark server holds one warehouse; the bench builds only the full history there",
        )
    _skip(
        data,
        "the bare-handler floor, saturation, slow-client and trivial-view runs",
        "a Spark query costs ~0.3 s, so they would measure Spark's queue, not the API; "
        "the API straight from Spark is measured with few requests and its driver floor",
    )
    server = running_spark_server(settings.spark_url) if settings.spark_url else None
    with server or local_spark_server(work) as warehouse:
        log(f"spark: loading and building {heartbeats:,} heartbeats on {_shown(warehouse.url)}")
        try:
            build_and_record(warehouse, files, work, log_path, data)
        except PhaseError as error:
            data["failed"] = [error.note]
            log(f"spark: FAILED {data['failed'][0]}")
            return data
        try:
            data["refresh"] = measure_refresh(
                warehouse, heartbeats, work, log_path, settings.refresh_cycles
            )
        except PhaseError as error:
            # recorded and reported (the bench exits 1), so the API phases still run
            data["failed"] = [error.note]
            log(f"spark: FAILED {data['failed'][0]}")
        data["spark_api"] = measure_spark_api(warehouse, settings, log_path)
    return data


def measure_spark_api(
    warehouse: Warehouse, settings: BenchSettings, log_path: Path
) -> dict[str, Any]:
    """The API straight from Spark, then from a DuckDB serving store published from Spark."""
    from daybook.bench.requests import sample_requests
    from daybook.semantic import load_catalog
    from daybook.serving.store import SERVING_URL_ENV

    work = settings.work
    catalog = load_catalog()
    groups = sample_requests(
        warehouse,
        catalog,
        granularities=settings.granularities,
        per_group=SPARK_REQUESTS_PER_GROUP,
    )
    found: dict[str, Any] = {
        "spark": _api_runs(warehouse, warehouse, {}, "spark", groups, catalog, settings)
    }
    store = work / STORE_FILE
    store.parent.mkdir(parents=True, exist_ok=True)
    store_env = {SERVING_URL_ENV: f"duckdb://{store}"}
    published = run_phase(
        "publish",
        {"url": warehouse.url},
        log_path=log_path,
        env={**bench_env(warehouse, work), **store_env},
    )
    log(f"spark: published to the DuckDB serving store in {published.seconds:.1f}s")
    found["store_publish"] = {
        "seconds": published.seconds,
        "peak_rss_mb": published.peak_rss_mb,
        **published.data,
    }
    found[STORE_LABEL] = _api_runs(
        warehouse,
        parse_database_url(store_env[SERVING_URL_ENV]),
        store_env,
        "store",
        groups,
        catalog,
        settings,
    )
    return found


def _api_runs(
    warehouse: Warehouse,
    served: Warehouse,
    extra_env: dict[str, str],
    label: str,
    groups: dict[tuple[str, str], list[Any]],
    catalog: Any,
    settings: BenchSettings,
) -> dict[str, Any]:
    """``daybook serve`` over ``warehouse`` (reading ``served``), answer cache off, under wrk
    with 1 and 4 clients per (entity, granularity); and the driver floor on ``served``."""
    from daybook.bench.http import create_token, load_runs, warm_up
    from daybook.bench.inproc import measure_driver
    from daybook.bench.servers import start_app

    work, duration = settings.work, settings.duration
    token = create_token(warehouse, work, extra_env)
    headers = {"Authorization": f"Bearer {token}"}
    env = {**bench_env(warehouse, work), **extra_env, "DAYBOOK_ANSWER_CACHE_MB": "0"}
    api = start_app(
        "api",
        f"api-spark-{label}",
        env=env,
        log_dir=work,
        workers=settings.workers,
        threads=settings.threads,
    )
    runs: dict[str, dict[str, Any]] = {}
    driver: dict[str, Any] = {}
    # straight from Spark a query takes 0.3 s, seconds on a busy machine: a shorter run
    # could end before its first answer and measure nothing
    run_seconds = max(duration, SPARK_MIN_RUN_SECONDS) if served.backend == "spark" else duration
    try:
        paths = [request.api_path() for batch in groups.values() for request in batch]
        warm_up(api, paths, headers)
        for (entity, granularity), requests in groups.items():
            key = f"{entity}/{granularity}"
            driver[key] = measure_driver(served, catalog, requests, seconds=max(0.5, duration / 2))
            runs[key] = load_runs(
                {"api_uncached": api},
                requests,
                seconds=run_seconds,
                headers=headers,
                work=work,
                runs=SPARK_LOAD_RUNS,
            )["api_uncached"]
            log(
                f"spark ({label}) {key}: API p50 {runs[key]['1']['p50_ms']:.1f} ms (1 client), "
                f"{runs[key]['4']['p50_ms']:.1f} ms (4), driver {driver[key]['p50_ms']:.1f} ms"
            )
        rss = api.worker_peak_rss_mb()
    finally:
        api.stop()
    return {"api_uncached": runs, "driver": driver, "worker_rss_mb": rss}
