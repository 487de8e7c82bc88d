"""One refresh cycle: keep the served marts within minutes of delivery.

Each cycle measures what arrived since the previous one (raw heartbeats by
``received_at_utc``), runs dbt's incremental build (the models select newly
received heartbeats and rebuild the local days they touch) and publishes it to the
API (:func:`daybook.pipeline.build_and_publish`: a new serving snapshot on DuckDB).
:class:`CycleResult` gives the cycle's one log line: how many heartbeats came in,
which local days they touched and how long it took. The ``daybook refresh``
command that repeats cycles is :mod:`daybook.refresh_cli`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from daybook.build.results import Built
from daybook.build.run import run_build, run_models
from daybook.cli_errors import first_line
from daybook.config import Warehouse
from daybook.pipeline import build_and_publish, publish_if_behind
from daybook.refresh_sql import arrivals_sql, since_parameters, spark_newest_included
from daybook.refresh_state import (
    Arrivals,
    as_utc,
    load_state,
    open_build_database,
    raw_fingerprints,
    save_state,
    settle_raw_heartbeats,
)


class RefreshError(RuntimeError):
    """A refresh cycle failed; the message names the step."""


@dataclass(frozen=True)
class CycleResult:
    """One refresh cycle: what came in and where the time went."""

    arrivals: Arrivals
    built: bool
    measure_seconds: float
    build_seconds: float
    publish_seconds: float
    total_seconds: float
    snapshot: str | None = None
    published: bool = True  # False: nothing built and the target held the last build
    # raw heartbeat rows new since the last cycle but received before its newest (a
    # backfill): built like the others, yet not among the arrivals counted by received time
    earlier_rows: int = 0
    # raw entity tables whose rows changed since the last cycle (new, or delivered again: a
    # zone change or a moved user applies to old heartbeats too), which no count above shows
    changed_entities: tuple[str, ...] = ()

    def log_line(self) -> str:
        arrivals = self.arrivals
        if not self.built:
            line = f"refresh: nothing new ({arrivals.heartbeats:,} heartbeats in), skipped build"
            if self.published:  # the target lacked the last build (publication_record)
                line += f"; published the last build ({self.publish_seconds:.1f}s)"
            return line
        steps = f"build {self.build_seconds:.1f}s"
        if self.snapshot is not None:
            steps += f", publish {self.publish_seconds:.1f}s"
        arrived = f"{arrivals.heartbeats + self.earlier_rows:,} heartbeats in"
        if self.earlier_rows and not arrivals.heartbeats:
            arrived += ", all received before the last cycle's newest (a backfill)"
        else:
            if self.earlier_rows:
                arrived += (
                    f" ({self.earlier_rows:,} received before the last cycle's newest: a backfill)"
                )
            plural = "s" if arrivals.local_days != 1 else ""
            arrived += f", {arrivals.local_days} local day{plural} touched"
            if self.earlier_rows:
                arrived += f" by the {arrivals.heartbeats:,} received since"
            if arrivals.first_day is not None:
                arrived += f" ({arrivals.first_day}..{arrivals.last_day})"
        line = f"refresh: {arrived}, {steps}, {self.total_seconds:.1f}s total"
        if self.changed_entities:
            tables = ", ".join(f"raw.{table}" for table in self.changed_entities)
            line += f"; {tables} changed (new or delivered again), applied to their heartbeats"
        return line


# --------------------------------------------------------------------------- measuring


def measure_arrivals(warehouse: Warehouse, since: datetime | None) -> Arrivals:
    """Count raw heartbeats received after ``since`` and the client-local days they touch,
    with the raw heartbeat rows and each entity table's row count and fingerprint.

    The query is rendered for the warehouse's dialect (:mod:`daybook.refresh_sql`)."""
    sql = arrivals_sql(warehouse.dialect, since is not None)
    settle_raw_heartbeats(warehouse)
    with open_build_database(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(sql, since_parameters(since))
        count, days, first, last, newest = cursor.fetchone()
        marks = raw_fingerprints(cursor, warehouse.backend)
        if warehouse.backend == "postgres":
            con.rollback()
    return Arrivals(
        heartbeats=int(count),
        local_days=int(days),
        first_day=first,
        last_day=last,
        high_water=as_utc(newest) or since,
        **marks,
    )


def _newest_built(warehouse: Warehouse) -> datetime | None:
    """Before the first cycle: the newest heartbeat the marts already include (a
    ``daybook build`` or a dbt run by hand), so the first cycle counts what came after
    it, not the whole history; None on a warehouse never built."""
    from daybook.serving import FRESHNESS_SOURCES, newest_included

    built = tuple(source for source in FRESHNESS_SOURCES if source[0] != "raw")
    with open_build_database(warehouse) as con:
        if warehouse.backend == "spark":  # the serving module reads DuckDB and PostgreSQL
            return as_utc(spark_newest_included(con, built))
        newest = newest_included(con, warehouse.backend, built)
        if warehouse.backend == "postgres":
            con.rollback()
    return newest


# --------------------------------------------------------------------------- one cycle


def refresh_once(
    warehouse: Warehouse,
    *,
    force: bool = False,
    build: Callable[[Warehouse], Built] | None = None,
) -> CycleResult:
    """Run one refresh cycle: measure, incremental build, publish.

    Skips the build when raw is as the last successful cycle or build left it (unless
    ``force``) and something is published: no heartbeat received since, the same
    number of raw heartbeat rows (a row written with an old received time), the same
    entity rows (a re-delivered entity replaces a row). ``build`` defaults to
    :func:`incremental_build`. Raises :class:`RefreshError` when measuring raw or the build
    fails; the previously published data then stays served.
    """
    started = time.perf_counter()
    state = load_state(warehouse)
    since = (
        datetime.fromisoformat(state["high_water"])
        if state.get("high_water")
        else _newest_built(warehouse)
    )
    try:
        arrivals = measure_arrivals(warehouse, since)
    except Exception as error:  # a database's error: its first line (no SQL, no JVM trace)
        raise RefreshError(f"measuring the arrivals in raw failed: {first_line(error)}") from error
    measured = time.perf_counter()
    unchanged = (
        arrivals.heartbeats == 0
        and arrivals.heartbeat_rows == state.get("heartbeat_rows")
        and arrivals.entity_fingerprints == state.get("entity_fingerprints")
    )
    if unchanged and not force:
        # nothing to build; the last build may still be missing where this command publishes
        published = publish_if_behind(warehouse)
        publication, publish_seconds = published or (None, 0.0)
        return CycleResult(
            arrivals,
            False,
            measured - started,
            0.0,
            publish_seconds,
            time.perf_counter() - started,
            snapshot=publication.snapshot_id if publication is not None else None,
            published=published is not None,
        )

    outcome = build_and_publish(warehouse, build=build or incremental_build)
    published = time.perf_counter()
    if not outcome.success:
        raise RefreshError(f"incremental build failed:\n{outcome.build.summary()}")
    previous_rows = state.get("heartbeat_rows")
    earlier_rows = (
        max(0, arrivals.heartbeat_rows - previous_rows - arrivals.heartbeats)
        if previous_rows is not None
        else 0
    )
    previous_fingerprints = state.get("entity_fingerprints") or {}
    changed_entities = tuple(
        table
        for table, fingerprint in arrivals.entity_fingerprints.items()
        if previous_fingerprints and previous_fingerprints.get(table) != fingerprint
    )
    save_state(warehouse, arrivals)
    publication = outcome.publication
    publish_seconds = outcome.publish_seconds or 0.0
    return CycleResult(
        arrivals=arrivals,
        built=True,
        measure_seconds=measured - started,
        build_seconds=outcome.build_seconds,
        publish_seconds=publish_seconds,
        total_seconds=published - started,
        snapshot=publication.snapshot_id if publication is not None else None,
        earlier_rows=earlier_rows,
        changed_entities=changed_entities,
    )


def incremental_build(warehouse: Warehouse, *, with_tests: bool = False) -> Built:
    """A cycle's build: the models alone (:func:`~daybook.build.run.run_models`), or with
    ``with_tests`` the whole ``dbt build`` (tests too, their cost follows the history)."""
    return run_build(warehouse) if with_tests else run_models(warehouse)


def summary_dict(result: CycleResult) -> dict[str, Any]:
    """A JSON-friendly record of a cycle (used by the benchmark)."""
    data = asdict(result)
    arrivals = data["arrivals"]
    for key in ("first_day", "last_day", "high_water"):
        if arrivals[key] is not None:
            arrivals[key] = arrivals[key].isoformat()
    return data
