"""Shared fixtures: one sample warehouse per backend, built once per test session; the tiers.

Every warehouse, semantic-layer and API test runs on DuckDB and on PostgreSQL
through the ``backend`` parameter. PostgreSQL tests skip only when no server
is reachable, and fail instead when ``DAYBOOK_REQUIRE_POSTGRES=1`` (CI).

Each test belongs to one tier (``tests/README.md``), given as a marker here at
collection: ``bench`` and ``browser`` by folder and marker, ``served`` for tests
using the real server (``served``/``served_apps``) or listed in ``TIER_OF_MODULE``,
``build`` for tests that run dbt builds of their own (listed, or marked
``@pytest.mark.build``), ``fast`` for every other test.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support import (
    PRISTINE_TEMPLATES,
    copy_postgres_database,
    create_postgres_database,
    drop_postgres_database,
    read_table,
    require_postgres,
    require_spark,
    reset_spark_warehouse,
)

from daybook.config import Warehouse, parse_database_url

if TYPE_CHECKING:
    from reference import Reference

BACKENDS = ("duckdb", "postgres")

# Slowest first: the first tier marker a test has is its tier.
TIERS = ("bench", "browser", "served", "build", "fast")
# Modules whose every test is in one tier that their fixtures do not show: builds of their
# own (dbt runs of a scenario, a CLI, a refresh cycle), or the whole product end to end.
TIER_OF_MODULE = {
    "tests/test_demo_stop.py": "served",
    "tests/refresh/test_refresh_while_serving.py": "served",
    "tests/test_warehouse_file_names.py": "build",
    "tests/refresh/test_refresh_after_build.py": "build",
    "tests/warehouse/test_backfill.py": "build",
    "tests/warehouse/test_build_command.py": "build",
    "tests/warehouse/test_client_freshness.py": "build",
    "tests/warehouse/test_count_bound.py": "build",
    "tests/warehouse/test_dates_outside_the_spine.py": "build",
    "tests/warehouse/test_dense_prune.py": "build",
    "tests/warehouse/test_heartbeat_read_race.py": "build",
    "tests/warehouse/test_incremental_equals_full.py": "build",
    "tests/warehouse/test_invalid_timezone.py": "build",
    "tests/warehouse/test_key_hashes.py": "build",
    "tests/warehouse/test_rendered_macros.py": "build",
    "tests/warehouse/test_received_past_9999.py": "build",
    "tests/warehouse/test_marts.py": "build",
    "tests/warehouse/test_rewritten_twice.py": "build",
    "tests/warehouse/test_unique_tests.py": "build",
}
SERVED_FIXTURES = {"served", "served_apps"}
GROUPS_ENV = "DAYBOOK_TEST_GROUPS"  # set for pytest-xdist's workers: their modules' groups


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The whole suite (``make test``: no paths given) runs on one pytest-xdist worker per
    core, up to four, each worker a whole module at a time (``--dist loadgroup`` with one
    group per module, so a module's shared build is made once), and every test that uses
    Spark on one worker (the group ``spark``: one Spark server warms up once). Most tests
    wait on dbt, PostgreSQL, a server or a browser, so two workers keep two cores busy.
    Paths given, ``-n`` given, ``--pdb``, or ``DAYBOOK_TEST_WORKERS=0`` (any count
    overrides the default): as asked.
    """
    if hasattr(config, "workerinput"):
        # a worker parses the command line again, which does not carry the `--dist` set
        # below: it learns the groups are wanted from the environment the controller set
        config.option.loadgroup = os.environ.get(GROUPS_ENV) == "1"
        return
    if not config.pluginmanager.hasplugin("xdist"):
        return
    if config.option.numprocesses is not None or config.getoption("usepdb", False):
        return
    wanted = os.environ.get("DAYBOOK_TEST_WORKERS")
    if wanted is None and config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return
    workers = int(wanted) if wanted is not None else min(os.cpu_count() or 1, 4)
    if workers > 1:
        config.option.numprocesses = workers
        config.option.dist = "loadgroup"
        os.environ[GROUPS_ENV] = "1"  # for the workers, which inherit the environment
        # hand modules out in collection order (slowest first, below), not xdist's default
        # of most tests first, which left a one-test Spark module for the suite's end
        config.option.loadscopereorder = False


def pytest_configure(config: pytest.Config) -> None:
    """Keep PostgreSQL warehouses' dbt state out of the checkout's ``.daybook/``."""
    import tempfile

    os.environ["DAYBOOK_STATE_DIR"] = tempfile.mkdtemp(prefix="daybook-test-state-")


def _tier(item: pytest.Item) -> str:
    module = _module(item)
    if module.startswith("tests/bench/"):
        return "bench"
    marked = [tier for tier in TIERS if item.get_closest_marker(tier)]
    if "browser" in marked or "browser" in getattr(item, "fixturenames", ()):
        return "browser"
    if SERVED_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "served"
    return marked[0] if marked else TIER_OF_MODULE.get(module, "fast")


# The slowest modules in `make test` (their summed `--durations=0` in a clean-clone run of
# 2026-12-06: 120-320 s each). The Spark group goes first (its modules in this order, the
# rest after), so the suite does not end on it while the other worker sits idle; the other
# worker starts with the slowest modules without Spark, then the rest in collection order.
SLOWEST_MODULES = (
    "tests/warehouse/test_marts.py",
    "tests/quality/test_spark_check.py",
    "tests/bench/test_bench_spark.py",
    "tests/spark/test_spark_refresh.py",
    "tests/spark/test_demo_on_spark.py",
    "tests/warehouse/test_incremental_equals_full.py",
    "tests/bench/test_bench_smoke.py",
    "tests/semantic/test_semantic_definitions.py",
)
# Fixtures that reach the process's one Spark server: a test using one joins the group
SPARK_FIXTURES = {"spark_server"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test exactly one tier marker, so ``-m fast`` (etc.) selects a tier; give
    each its module's xdist group, or ``spark`` for a test using the Spark server (one JVM,
    warmed up once; a module's DuckDB and PostgreSQL tests still go to either worker); put
    the Spark tests first, then the slowest modules (pytest-xdist hands groups out in this
    order)."""
    for item in items:
        tier = _tier(item)
        for other in TIERS:
            if other != tier:
                item.own_markers[:] = [m for m in item.own_markers if m.name != other]
        if not any(m.name == tier for m in item.iter_markers()):
            item.add_marker(tier)
    on_spark = {item.nodeid for item in items if _uses_spark(item)}
    for item in items:
        group = "spark" if item.nodeid in on_spark else _module(item)
        item.add_marker(pytest.mark.xdist_group(group))
    rank = {module: position for position, module in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: (item.nodeid not in on_spark, rank.get(_module(item), len(rank))))


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _uses_spark(item: pytest.Item) -> bool:
    """The test reaches the process's Spark server: through a fixture, or as its ``backend``
    parameter's ``spark`` (handed to ``make_warehouse``). A ``dialect`` of ``spark`` is SQL
    text only: no server."""
    if SPARK_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("backend") == "spark"


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """A per-test random stream, seeded by the test's id so failures reproduce."""
    return random.Random(request.node.nodeid)


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One local Spark Connect server per pytest process (each xdist worker its own port and
    folder), started on first use and stopped at the session's end; its ``sc://`` warehouse.

    Skips without Java (fails with ``DAYBOOK_REQUIRE_SPARK=1``). The server is shared by the
    process's tests, one at a time: use ``spark_warehouse`` or ``make_warehouse("spark")``
    for a fresh (emptied) warehouse. ``DAYBOOK_TEST_SPARK_MEMORY`` sets its heap (1g).
    """
    from daybook.spark import server
    from daybook.spark.watch import watch_owner

    require_spark()
    folder = tmp_path_factory.mktemp("spark-server")
    info = server.start_on_a_free_port(
        state_dir=folder,
        driver_memory=os.environ.get("DAYBOOK_TEST_SPARK_MEMORY", "1g"),
    )
    watch_owner(folder)  # stops it should this process be killed before its teardown
    try:
        yield parse_database_url(info.url)
    finally:
        server.stop(folder)


@pytest.fixture
def spark_warehouse(spark_server: Warehouse) -> Warehouse:
    """The session's Spark server, emptied for this test (``support.reset_spark_warehouse``)."""
    return reset_spark_warehouse(spark_server)


@pytest.fixture
def make_warehouse(tmp_path_factory: pytest.TempPathFactory, request) -> Iterator:
    """Factory for empty warehouses of a backend; PostgreSQL databases are dropped afterwards.

    ``make("spark")`` empties the process's one Spark server (``spark_server``) and returns
    it, so a test gets one Spark warehouse at a time.
    """
    created: list[Warehouse] = []

    def make(backend: str) -> Warehouse:
        if backend == "spark":
            return reset_spark_warehouse(request.getfixturevalue("spark_server"))
        if backend == "duckdb":
            folder = tmp_path_factory.mktemp("duckdb")
            warehouse = parse_database_url(f"duckdb://{folder / 'warehouse.duckdb'}")
        else:
            require_postgres()
            warehouse = create_postgres_database()
            created.append(warehouse)
        return warehouse

    yield make
    for warehouse in created:
        drop_postgres_database(warehouse)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on DuckDB and once on PostgreSQL."""
    return request.param


@pytest.fixture
def empty_warehouse(backend: str, make_warehouse) -> Warehouse:
    """A fresh, empty warehouse of the parametrised backend."""
    return make_warehouse(backend)


@dataclass
class BuiltWarehouse:
    """A warehouse generated, loaded and built once per session, shared read-only by tests."""

    warehouse: Warehouse
    raw_dir: Path

    def raw_rows(self, table: str) -> list[dict]:
        return read_table(self.warehouse, f"select * from raw.{table}")


def _build_sample(backend: str, tmp: Path) -> BuiltWarehouse:
    from daybook.build import run_build
    from daybook.generate import generate_dataset
    from daybook.load import load_files

    if backend == "duckdb":
        warehouse = parse_database_url(f"duckdb://{tmp / 'warehouse.duckdb'}")
    else:
        require_postgres()
        warehouse = create_postgres_database("daybook_session")
    try:
        files = generate_dataset(tmp / "raw", heartbeats=20_000, seed=7, file_format="parquet")
        for table in ("clients", "users", "devices", "heartbeats"):
            load_files(warehouse, table, files[table])
        result = run_build(warehouse)
        assert result.success, result.summary()
    except BaseException:
        if backend == "postgres":
            drop_postgres_database(warehouse)
        raise
    if backend == "postgres":
        # served apps keep pooled connections to the built database, which forbids
        # using it as a template; tests that need a writable copy clone this one
        PRISTINE_TEMPLATES[warehouse.dbname] = copy_postgres_database(
            warehouse, "daybook_pristine"
        ).dbname
    return BuiltWarehouse(warehouse=warehouse, raw_dir=tmp / "raw")


@pytest.fixture(scope="session")
def built_warehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Lazily built sample warehouses keyed by backend, dropped at the end of the session."""
    cache: dict[str, BuiltWarehouse] = {}
    failed: dict[str, str] = {}

    class Lazy(dict):
        def __missing__(self, backend: str) -> BuiltWarehouse:
            if backend in failed:  # built once per session: later tests do not retry
                pytest.fail(f"the {backend} sample failed to build: {failed[backend]}")
            try:
                built = _build_sample(backend, tmp_path_factory.mktemp(f"built-{backend}"))
            except (Exception, pytest.fail.Exception) as error:
                failed[backend] = str(error)[:2000]
                raise
            cache[backend] = self[backend] = built
            return built

    yield Lazy()
    for built in cache.values():
        if built.warehouse.backend == "postgres":
            drop_postgres_database(built.warehouse)
            pristine = PRISTINE_TEMPLATES.pop(built.warehouse.dbname, None)
            if pristine:
                drop_postgres_database(parse_database_url(f"postgresql:///{pristine}"))


@pytest.fixture
def built(backend: str, built_warehouses: dict) -> BuiltWarehouse:
    """The session's generated-loaded-built sample warehouse on the parametrised backend."""
    return built_warehouses[backend]


@dataclass
class Sample:
    """The sample's raw rows (ids as strings) and the reference answers computed from them."""

    raw: dict[str, list[dict]]
    reference: Reference


@pytest.fixture(scope="session")
def samples(built_warehouses: dict) -> dict:
    """Per backend (lazily), the built sample's raw rows and reference, computed once."""
    from reference import compute
    from served_api import RAW_TABLES, plain_row

    class Lazy(dict):
        def __missing__(self, backend: str) -> Sample:
            built = built_warehouses[backend]
            raw = {table: [plain_row(row) for row in built.raw_rows(table)] for table in RAW_TABLES}
            reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
            self[backend] = Sample(raw=raw, reference=reference)
            return self[backend]

    return Lazy()


@pytest.fixture(scope="session")
def apps(built_warehouses, samples, tmp_path_factory) -> Iterator[dict]:
    """Lazily built in-process API apps keyed by backend, over the session's sample warehouse.

    Fast API tests use these through Flask's test client (``api``); on DuckDB each
    app reads a serving snapshot published from a private copy of the built file (as
    ``daybook serve`` does), on PostgreSQL the database itself.
    """
    from in_process_api import InProcess
    from served_api import serving_copy

    from api.app import create_app

    made: dict = {}

    class Lazy(dict):
        def __missing__(self, backend: str):
            sample = samples[backend]
            folder = tmp_path_factory.mktemp(f"in-process-{backend}")
            warehouse = serving_copy(built_warehouses[backend].warehouse, folder)
            if backend == "duckdb":
                from daybook.serving import publish_snapshot

                publish_snapshot(warehouse)
            made[backend] = self[backend] = InProcess(
                backend=backend,
                warehouse=warehouse,
                reference=sample.reference,
                clients=sample.raw["clients"],
                users=sample.raw["users"],
                devices=sample.raw["devices"],
                app=create_app({"warehouse": warehouse}),
            )
            return made[backend]

    yield Lazy()
    for in_process in made.values():
        in_process.close()


@pytest.fixture
def api(backend: str, apps: dict):
    """The API over the session's sample warehouse through Flask's test client (fast tier)."""
    return apps[backend]


@pytest.fixture
def app(api):
    """The Flask app of ``api`` (as in Flask's tutorial)."""
    return api.app


@pytest.fixture
def client(app):
    """Flask's test client of ``app`` (as in Flask's tutorial)."""
    return app.test_client()


@pytest.fixture(scope="session")
def served_apps(built_warehouses, samples, tmp_path_factory) -> Iterator[dict]:
    """Lazily started ``daybook serve`` processes keyed by backend, stopped at session end.

    Each serves the session's built sample warehouse (on DuckDB a copy of the
    file, on PostgreSQL the database itself) and carries the reference answers
    computed from its raw rows; the served tier's API, page and refresh tests share them.
    """
    from served_api import serving_copy, start_server

    started: dict = {}

    class Lazy(dict):
        def __missing__(self, backend: str):
            sample = samples[backend]
            folder = tmp_path_factory.mktemp(f"served-{backend}")
            warehouse = serving_copy(built_warehouses[backend].warehouse, folder)
            started[backend] = self[backend] = start_server(
                warehouse, folder, sample.reference, sample.raw
            )
            return started[backend]

    yield Lazy()
    for served in started.values():
        served.stop()


@pytest.fixture
def served(backend: str, served_apps: dict):
    """The served API (real gunicorn) over the session's built warehouse, on the backend."""
    return served_apps[backend]
