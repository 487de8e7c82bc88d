"""The two dbt runs the product makes: ``run_build`` (``daybook build``: models and
data tests; unit tests on request) and ``run_models`` (each refresh cycle: the models alone).

Both return a :class:`~daybook.build.results.BuildResult`; neither publishes anything
(:func:`daybook.pipeline.build_and_publish` does that after either).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from daybook.build.invoke import run_dbt
from daybook.build.raw_tables import ensure_raw_tables
from daybook.build.results import BuildResult, NodeResult, build_result, progress_callback
from daybook.build.views import VIEW_MODELS, project_fingerprint, record_views, views_current
from daybook.config import Warehouse
from daybook.refresh_state import raw_marks, save_state
from daybook.warehouse import connect


def run_build(
    warehouse: Warehouse,
    *,
    full_refresh: bool = False,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    unit_tests: bool = False,
    on_node: Callable[[NodeResult], None] | None = None,
) -> BuildResult:
    """``dbt build`` (models and data tests) against ``warehouse``.

    Incremental by default: only newly received heartbeats are processed.
    ``full_refresh`` rebuilds every incremental model from raw. ``select`` limits the
    build to dbt selectors, ``exclude`` leaves some out (``["resource_type:test"]``).
    ``unit_tests`` also runs dbt's unit tests. They are left out otherwise, as dbt
    advises for production builds: they check the models' SQL on fixed inputs, which
    only changes with the project (CI runs them), and dbt runs each before the model
    it tests, so they delayed the heartbeat models, the head of the critical path.
    ``on_node`` is called as each node finishes (progress). A ``select`` that matches no
    node fails the build before anything runs, naming it (a typo built nothing and was
    reported a success). On DuckDB the file is held from first to last
    (:func:`holding_the_file`).
    """
    with holding_the_file(warehouse):
        result = _run_build(warehouse, full_refresh, select, exclude, unit_tests, on_node)
    if select and result.error:
        unmatched = _UNMATCHED.search(result.error)
        if unmatched:
            result.error = (
                f"--select {unmatched['criterion']!r} matches no dbt model, test or other "
                "node (`dbt ls` lists them); nothing was built"
            )
    return result


# dbt's words for a selection that matches nothing (NoNodesForSelectionCriteria), raised
# as an error by WARN_ERROR_UNMATCHED
_UNMATCHED = re.compile(r"The selection criterion '(?P<criterion>.*)' does not match any")
WARN_ERROR_UNMATCHED = ["--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}']


@contextmanager
def holding_the_file(warehouse: Warehouse) -> Iterator[None]:
    """On DuckDB, hold the warehouse file for a whole build: opened first (waiting while
    another process holds it, :func:`daybook.warehouse.connect`) and kept open until dbt is
    done. dbt's connections join this process's DuckDB instance, so no other process can
    take the file between the raw tables and dbt's models (dbt then failed at once with
    DuckDB's lock error, its traceback printed three times). Elsewhere: nothing."""
    if warehouse.backend != "duckdb":
        yield
        return
    con = connect(warehouse)
    try:
        yield
    finally:
        con.close()


def _run_build(
    warehouse: Warehouse,
    full_refresh: bool,
    select: list[str] | None,
    exclude: list[str] | None,
    unit_tests: bool,
    on_node: Callable[[NodeResult], None] | None,
) -> BuildResult:
    started = time.perf_counter()
    try:
        ensure_raw_tables(warehouse)
    except Exception as exc:
        return BuildResult(
            success=False,
            seconds=time.perf_counter() - started,
            error=f"cannot prepare the raw schema in {warehouse.backend} warehouse: {exc}",
        )
    marks = _raw_marks(warehouse) if not select else None
    # only a run of every model re-creates every view (daybook.build.views)
    fingerprint = project_fingerprint() if not (select or exclude) else None
    args = ["build", "--quiet"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select, *WARN_ERROR_UNMATCHED]
    if exclude:
        args += ["--exclude", *exclude]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    callbacks = [progress_callback(on_node)] if on_node else None
    outcome = run_dbt(warehouse, args, callbacks=callbacks)
    result = build_result(outcome, time.perf_counter() - started)
    if result.success and marks is not None:
        save_state(warehouse, marks)
    if result.success and fingerprint is not None:
        record_views(warehouse, fingerprint)
    return result


def run_models(warehouse: Warehouse) -> BuildResult:
    """dbt's incremental run of the models (``dbt run``), without tests.

    What a refresh cycle runs: data tests scan whole tables (unique keys over every
    heartbeat), so their cost follows the history, while a refresh's cost must follow
    the new data. ``daybook build`` and CI run the tests. Views are left as they are
    when the last run of every model was of this same project
    (:mod:`daybook.build.views`); should that run fail (a view dropped by hand), every
    model runs again at once.
    """
    with holding_the_file(warehouse):
        return _run_models(warehouse)


def _run_models(warehouse: Warehouse) -> BuildResult:
    started = time.perf_counter()
    fingerprint = project_fingerprint()
    if views_current(warehouse, fingerprint):
        outcome = run_dbt(warehouse, ["run", "--quiet", "--exclude", VIEW_MODELS])
        result = build_result(outcome, time.perf_counter() - started)
        if result.success:
            return result
        record_views(warehouse, None)
    outcome = run_dbt(warehouse, ["run", "--quiet"])
    result = build_result(outcome, time.perf_counter() - started)
    if result.success:
        record_views(warehouse, fingerprint)
    return result


def _raw_marks(warehouse: Warehouse) -> Any:
    """What raw holds before the models run (``daybook.refresh_state.raw_marks``), or None.

    Saved as the refresh state once the build succeeds, so the first ``daybook refresh``
    after a build (``daybook demo`` too) skips when nothing arrived instead of
    rebuilding: before, only refresh cycles wrote that state. Taken before dbt reads
    raw, so rows arriving during the build are seen by the next cycle. A failure here
    only costs that cycle its skip, never the build.
    """
    try:
        return raw_marks(warehouse)
    except Exception:
        return None
