"""Run the suites in ``expectations/`` with Great Expectations against a warehouse.

Design (issue 5):

- Every batch is a GX *query asset* on GX's SQL data source, so GX computes
  its metrics as SQL aggregates inside the warehouse and fetches only counts
  and at most a few sample values (``SUMMARY`` results). Nothing pulls the
  10-million-row heartbeat table into Python, on either backend.
- DuckDB goes through ``duckdb+daybook://`` (``duckdb_dialect``), which fixes
  the empty results that made every GX metric fail on plain duckdb-engine.
- Spark (``sc://``, issue 15) goes through GX's Spark datasource instead: each batch
  query, translated to Spark SQL, is a Spark Connect DataFrame that GX validates with
  aggregates run on the server (``spark_runner``). Same suites, same GX expectations
  (``gx_objects``), same findings and Data Docs.
- GX runs in an ephemeral context: no project folder, no usage statistics,
  nothing written into the repository. Data Docs go to ``docs_dir``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from daybook.config import Warehouse
from daybook.quality.findings import match_results, root_cause_line
from daybook.quality.gx_objects import (
    RESULT_FORMAT,
    add_validation_definition,
    batch_label,
    expectation,
    quiet_offline_gx,
)
from daybook.quality.report import CheckReport, Finding, resolve_totals
from daybook.quality.suites import (
    BatchSpec,
    ExpectationSpec,
    Settings,
    SuiteFileError,
    SuiteSpec,
    load_settings,
    load_suites,
    render_query,
    runtime_parameters,
)
from daybook.warehouse import WarehouseUnavailable

DEFAULT_DOCS_DIR = Path(".daybook") / "data-docs"
SITE_NAME = "daybook"
DUCKDB_MEMORY_LIMIT = os.environ.get("DAYBOOK_CHECK_DUCKDB_MEMORY", "1GB")
POSTGRES_WORK_MEM = os.environ.get("DAYBOOK_CHECK_PG_WORK_MEM", "256MB")
# Hash tables may take this many times work_mem. The marts' per-key reconciliation sums
# every valid heartbeat per (client, day, user, device); PostgreSQL overestimates those
# groups fivefold and, within 2 x work_mem, sorted 10 million heartbeats on disk instead
# of hashing them (17 s against 6 s at 10 million heartbeats).
POSTGRES_HASH_MEM_MULTIPLIER = os.environ.get("DAYBOOK_CHECK_PG_HASH_MEM_MULTIPLIER", "4")


def connection_url(warehouse: Warehouse) -> str:
    """The SQLAlchemy URL GX connects with (read-only for DuckDB)."""
    if warehouse.backend == "duckdb":
        from daybook.quality import duckdb_dialect

        duckdb_dialect.register()
        assert warehouse.duckdb_path is not None
        url = URL.create(
            f"duckdb+{duckdb_dialect.DRIVER}",
            database=str(warehouse.duckdb_path),
            # read-only: a check never writes; the memory cap makes DuckDB spill big
            # sorts and joins to disk instead of growing with the warehouse
            query={"access_mode": "read_only", "memory_limit": DUCKDB_MEMORY_LIMIT},
        )
    else:
        url = URL.create(
            "postgresql+psycopg",
            username=warehouse.user,
            password=warehouse.password or None,
            host=warehouse.host,
            port=warehouse.port,
            database=warehouse.dbname,
            # the reconciliation sorts every heartbeat once; give that sort room in memory
            # (bounded, per sort) rather than many passes on disk, and the per-key sums
            # room to hash
            query={
                "options": f"-c work_mem={POSTGRES_WORK_MEM}"
                f" -c hash_mem_multiplier={POSTGRES_HASH_MEM_MULTIPLIER}"
            },
        )
    return url.render_as_string(hide_password=False)


def _context(docs_dir: Path) -> Any:
    """A fresh ephemeral GX context whose only Data Docs site is ``docs_dir``."""
    quiet_offline_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from daybook.quality import docs

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={SITE_NAME: docs.site_config(docs_dir)},
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _expectation(spec: ExpectationSpec, suite: SuiteSpec, batch: BatchSpec) -> Any:
    """The GX expectation of ``spec`` (its suite and batch do not change it)."""
    return expectation(spec)


def _validation_definitions(
    context: Any, datasource: Any, suites: list[SuiteSpec], settings: Settings, params: dict
) -> list[tuple[SuiteSpec, BatchSpec, Any]]:
    definitions = []
    for suite in suites:
        for batch in suite.batches:
            # GX accepts only queries that start with SELECT; CTEs go inside a derived table.
            query = render_query(batch.query, settings, params).strip().rstrip(";")
            asset = datasource.add_query_asset(
                name=batch_label(suite, batch),
                query=f"select * from (\n{query}\n) as {batch.name}",
            )
            batch_definition = asset.add_batch_definition_whole_table("whole")
            definition = add_validation_definition(context, suite, batch, batch_definition)
            definitions.append((suite, batch, definition))
    return definitions


def _validate(
    context: Any,
    warehouse: Warehouse,
    specs: list[SuiteSpec],
    settings: Settings,
    params: dict,
    *,
    temp_tables: bool,
) -> list[Finding]:
    """Register the batches with GX, run one checkpoint over all of them, collect findings."""
    import great_expectations as gx

    try:
        with warnings.catch_warnings():
            # GX suggests its PostgresDatasource; the generic one serves both backends alike
            warnings.filterwarnings("ignore", message=".*more specific PostgresDatasource.*")
            datasource = context.data_sources.add_sql(
                name=f"warehouse_{uuid.uuid4().hex[:8]}",
                connection_string=connection_url(warehouse),
                create_temp_table=temp_tables,
            )
    except Exception as exc:  # GX wraps driver errors in several types; all mean the same
        raise WarehouseUnavailable(
            f"Cannot open the warehouse {warehouse.backend} for checks: {root_cause_line(exc)}"
        ) from None
    try:
        definitions = _validation_definitions(context, datasource, specs, settings, params)
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name="daybook_check",
                validation_definitions=[d for _, _, d in definitions],
                result_format=RESULT_FORMAT,
            )
        )
        result = checkpoint.run(expectation_parameters=params)
        return match_results(definitions, result)
    finally:
        datasource.get_engine().dispose()
        execution_engine = getattr(datasource, "_execution_engine", None)
        if execution_engine is not None:
            execution_engine.engine.dispose()


# What a GX Data Docs site consists of: only these are replaced, never anything else a
# user keeps in the folder they point --docs-dir at.
_DOCS_ENTRIES = ("index.html", "validations", "expectations", "static")


def _clear_previous_docs(docs_dir: Path) -> None:
    """Remove the previous run's Data Docs so the site shows this run only."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    for name in _DOCS_ENTRIES:
        entry = docs_dir / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()


def select_suites(specs: list[SuiteSpec], names: Collection[str] | None) -> list[SuiteSpec]:
    """The suites called ``names`` (all when None); an unknown name is an error."""
    if names is None:
        return specs
    known = {spec.suite for spec in specs}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SuiteFileError(
            f"Unknown suite(s) {unknown}. Valid suites: {', '.join(sorted(known))}"
        )
    return [spec for spec in specs if spec.suite in names]


def _validated_context(
    docs_dir: Path, warehouse: Warehouse, specs: list[SuiteSpec], settings: Settings, params: dict
) -> tuple[Any, list[Finding]]:
    """A GX context holding every batch's validation result (for Data Docs), and the findings."""
    context = _context(docs_dir)
    if warehouse.backend == "spark":
        from daybook.quality.spark_runner import validate_on_spark

        return context, validate_on_spark(context, warehouse, specs, settings, params)
    # PostgreSQL: GX runs each batch query once into a temporary table instead of once per
    # metric query (three times). Not on DuckDB, where each cursor is its own connection
    # (duckdb_dialect) and would not see another's temporary table.
    temp_tables = warehouse.backend == "postgres"
    try:
        return context, _validate(
            context, warehouse, specs, settings, params, temp_tables=temp_tables
        )
    except WarehouseUnavailable:
        raise
    except Exception:
        if not temp_tables:
            raise
    # A batch query failed while GX materialised it (a model not built yet, say), which
    # aborts the whole checkpoint. Run again without temporary tables, so each
    # expectation reports its own error and the others still run.
    context = _context(docs_dir)
    return context, _validate(context, warehouse, specs, settings, params, temp_tables=False)


def run_checks(
    warehouse: Warehouse,
    *,
    docs_dir: Path | None = None,
    suites: Collection[str] | None = None,
    suites_dir: Path | None = None,
) -> CheckReport:
    """Run the suites (all, or those named in ``suites``) against ``warehouse``.

    Data Docs go to ``docs_dir``, by default ``.daybook/data-docs`` in the
    working directory, rebuilt from scratch so they show this run only.
    """
    started = time.perf_counter()
    settings = load_settings(suites_dir)
    specs = select_suites(load_suites(suites_dir), suites)
    params = runtime_parameters(settings, backend=warehouse.backend)
    docs_dir = (docs_dir or DEFAULT_DOCS_DIR).resolve()
    _clear_previous_docs(docs_dir)

    try:
        context, findings = _validated_context(docs_dir, warehouse, specs, settings, params)
        # One build for the whole run (GX's UpdateDataDocsAction rebuilds once per batch).
        context.build_data_docs(site_names=[SITE_NAME])
        from daybook.quality import docs

        # GX's pages load their CSS and scripts from CDNs: serve the vendored copies instead
        docs.make_offline(docs_dir)
    finally:
        if warehouse.backend == "duckdb":
            from daybook.quality import duckdb_dialect

            duckdb_dialect.close_connections(str(warehouse.duckdb_path))
    index = docs_dir / "index.html"
    return CheckReport(
        findings=resolve_totals(findings),
        docs_index=index if index.exists() else None,
        seconds=time.perf_counter() - started,
    )
