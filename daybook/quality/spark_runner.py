"""The suites on a Spark warehouse (``sc://``): GX's Spark datasource over Spark Connect.

Why this path (issue 15): GX 1.x validates Spark Connect DataFrames with its Spark
execution engine, which turns every expectation into DataFrame aggregates that run on
the Spark server; only counts and at most 20 sample values per expectation come back,
as on the SQL backends. So each batch query, translated to Spark SQL
(``spark_sql.to_spark``), becomes a DataFrame of the session, validated as a GX
DataFrame asset with the same expectation suite, result format and Data Docs as on
DuckDB and PostgreSQL (``gx_objects``). Nothing pulls a table into Python.

Details that make it work:

- GX asks pyspark for "the" session (``builder.getOrCreate``); Daybook's sessions are
  private (``daybook.spark.session.open_session``, never pyspark's default, which dbt
  uses), so the check's session is made the thread's active one while GX looks it up.
- ``pyspark.sql.functions`` builds Connect columns only while
  ``SPARK_CONNECT_MODE_ENABLED`` is set, which Daybook keeps out of ``os.environ``
  (children would inherit it): GX runs inside ``connect_mode()``.
- GX caches each batch on the server (``persist``), so its several metric queries read
  the batch once, as PostgreSQL's temporary tables do; it is uncached after its
  validation, so the server holds one batch at a time.
- A batch query Spark cannot analyse (a mart not built yet) fails before GX sees a
  DataFrame: its expectations are reported as errors carrying Spark's first line
  (``spark_failures``), and its Data Docs page says the same.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

from daybook.cli_errors import first_line
from daybook.config import Warehouse
from daybook.quality.findings import batch_findings
from daybook.quality.gx_objects import (
    RESULT_FORMAT,
    add_validation_definition,
    batch_label,
)
from daybook.quality.report import Finding
from daybook.quality.spark_failures import record_failed_batch, store_validation_result
from daybook.quality.spark_sql import SparkTranslationError, to_spark
from daybook.quality.suites import BatchSpec, Settings, SuiteSpec, render_query
from daybook.spark.session import connect_mode, open_session
from daybook.warehouse import WarehouseUnavailable

# a batch to validate: its suite, itself, and its query as Spark SQL
_Batch = tuple[SuiteSpec, BatchSpec, str]


@contextlib.contextmanager
def _active(session: Any) -> Iterator[None]:
    """Make ``session`` the thread's active Spark Connect session inside the block.

    GX's Spark datasource takes its session from ``SparkSession.builder.getOrCreate()``,
    which returns the active session before it would make one of its own.
    """
    from pyspark.sql.connect.session import SparkSession

    holder = SparkSession._active_session
    previous = getattr(holder, "session", None)
    holder.session = session
    try:
        yield
    finally:
        holder.session = previous


def _open(warehouse: Warehouse) -> Any:
    try:
        return open_session(warehouse.url)
    except Exception as exc:  # unreachable, refused, bad URL: the check cannot run
        raise WarehouseUnavailable(
            f"Cannot open the warehouse spark for checks: {first_line(exc)}"
        ) from None


def _datasource(context: Any, session: Any) -> Any:
    """GX's Spark datasource on ``session`` (GX caches the session it finds)."""
    with connect_mode(), _active(session):
        return context.data_sources.add_spark(
            name=f"warehouse_{uuid.uuid4().hex[:8]}", persist=True
        )


def _show_query(context: Any, run: Any, sql: str) -> None:
    """Store ``run`` again with the Spark SQL in its batch spec, as a SQL batch's page shows
    its query (a DataFrame batch's spec says only "SparkDataFrame")."""
    spec = dict(run.meta.get("batch_spec") or {})
    run.meta["batch_spec"] = {
        **spec,
        "batch_data": "SparkDataFrame",
        "data_asset_name": run.suite_name,  # the asset is named as its suite (batch_label)
        "query": sql,
    }
    store_validation_result(context, run, run.suite_name, run.batch_id)


def _validate_batch(
    context: Any, datasource: Any, session: Any, work: _Batch, params: dict, run_id: Any
) -> list[Finding]:
    suite, batch, sql = work
    asset = datasource.add_dataframe_asset(name=batch_label(suite, batch))
    definition = add_validation_definition(
        context, suite, batch, asset.add_batch_definition_whole_dataframe("whole")
    )
    try:
        frame = session.sql(sql)  # Spark analyses the query here: a missing table fails now
    except Exception as exc:
        return record_failed_batch(context, suite, batch, definition, first_line(exc), run_id)
    try:
        with connect_mode():
            run = definition.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=params,
                result_format=RESULT_FORMAT,
                run_id=run_id,
            )
    finally:
        with contextlib.suppress(Exception):  # the session may be gone; nothing to free then
            frame.unpersist()
    _show_query(context, run, sql)
    return batch_findings(suite, batch, run)


def _spark_query(suite: SuiteSpec, batch: BatchSpec, settings: Settings, params: dict) -> str:
    """The batch's query rendered and translated to Spark SQL; an error names the batch."""
    try:
        return to_spark(render_query(batch.query, settings, params).strip().rstrip(";"))
    except SparkTranslationError as exc:
        raise SparkTranslationError(f"{batch_label(suite, batch)}: {exc}") from None


def validate_on_spark(
    context: Any, warehouse: Warehouse, specs: list[SuiteSpec], settings: Settings, params: dict
) -> list[Finding]:
    """Validate every batch of ``specs`` on the Spark warehouse; its findings, in suite order.

    Each batch is validated on its own (a GX checkpoint takes one set of batch
    parameters for all its definitions, and each batch here is its own DataFrame); the
    results land in the context's store, so one Data Docs build shows them all.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    # translated first: a query sqlglot cannot translate stops the run before Spark is asked
    work = [
        (suite, batch, _spark_query(suite, batch, settings, params))
        for suite in specs
        for batch in suite.batches
    ]
    run_id = RunIdentifier(run_time=datetime.datetime.now(datetime.UTC))  # one run, as a checkpoint
    session = _open(warehouse)
    try:
        datasource = _datasource(context, session)
        findings: list[Finding] = []
        for item in work:
            findings.extend(_validate_batch(context, datasource, session, item, params, run_id))
        return findings
    finally:
        with contextlib.suppress(Exception):
            session.stop()
