"""``daybook refresh [--every 5m]``: keep the served marts within minutes of delivery.

Each cycle measures what arrived since the previous one (raw heartbeats by
``received_at_utc``), runs dbt's incremental build (the models select newly
received heartbeats and rebuild the local days they touch), and on DuckDB
publishes a new serving snapshot (see :mod:`daybook.serving`). One log line
per cycle says how many heartbeats came in, which local days they touched and
how long it took. Ctrl-C (or SIGTERM) lets the running cycle finish and stops;
a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import click

from daybook.config import Warehouse, warehouse_from_env
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

    def log_line(self) -> str:
        arrivals = self.arrivals
        days = f"{arrivals.local_days} local day{'s' if arrivals.local_days != 1 else ''} touched"
        if arrivals.first_day is not None:
            days += f" ({arrivals.first_day}..{arrivals.last_day})"
        if not self.built:
            return f"refresh: nothing new ({arrivals.heartbeats:,} heartbeats in), skipped build"
        steps = f"build {self.build_seconds:.1f}s"
        if self.snapshot is not None:
            steps += f", publish {self.publish_seconds:.1f}s"
        return (
            f"refresh: {arrivals.heartbeats:,} heartbeats in, {days}, {steps}, "
            f"{self.total_seconds:.1f}s total"
        )


# --------------------------------------------------------------------------- measuring


def measure_arrivals(warehouse: Warehouse, since: datetime | None) -> Arrivals:
    """Count raw heartbeats received after ``since`` and the client-local days they touch,
    with the raw heartbeat rows and each entity table's row count and fingerprint."""
    local_day = (
        "cast((heartbeats.generated_at_utc at time zone 'UTC') at time zone clients.timezone "
        "as date)"
    )
    placeholder = "?" if warehouse.backend == "duckdb" else "%s"
    where = f"where heartbeats.received_at_utc > {placeholder}" if since else ""
    sql = (
        f"select count(*), count(distinct {local_day}), min({local_day}), max({local_day}), "
        "max(heartbeats.received_at_utc) "
        "from raw.heartbeats as heartbeats "
        "left join raw.clients as clients on clients.client_id = heartbeats.client_id "
        f"{where}"
    )
    params = [since.astimezone(UTC).replace(tzinfo=None)] if since else []
    settle_raw_heartbeats(warehouse)
    with open_build_database(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(sql, params)
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
        newest = newest_included(con, warehouse.backend, built)
        if warehouse.backend == "postgres":
            con.rollback()
    return newest


# --------------------------------------------------------------------------- one cycle


def refresh_once(
    warehouse: Warehouse,
    *,
    force: bool = False,
    build: Callable[[Warehouse], Any] | None = None,
) -> CycleResult:
    """Run one refresh cycle: measure, incremental build, publish (DuckDB).

    Skips the build when raw is as the last successful cycle or build left it (unless
    ``force``): no heartbeat received since, the same number of raw heartbeat rows (a
    row written with an old received time), the same entity rows (a re-delivered
    entity replaces a row). Raises :class:`RefreshError` when the
    build fails; the previous snapshot then stays served.
    """
    started = time.perf_counter()
    state = load_state(warehouse)
    since = (
        datetime.fromisoformat(state["high_water"])
        if state.get("high_water")
        else _newest_built(warehouse)
    )
    arrivals = measure_arrivals(warehouse, since)
    measured = time.perf_counter()
    unchanged = (
        arrivals.heartbeats == 0
        and arrivals.heartbeat_rows == state.get("heartbeat_rows")
        and arrivals.entity_fingerprints == state.get("entity_fingerprints")
    )
    if unchanged and not force and _served(warehouse):
        return CycleResult(arrivals, False, measured - started, 0.0, 0.0, measured - started)

    result = (build or incremental_build)(warehouse)
    built = time.perf_counter()
    if not result.success:
        raise RefreshError(f"incremental build failed:\n{result.summary()}")

    snapshot = None
    if warehouse.backend == "duckdb":
        from daybook.serving import publish_snapshot

        snapshot = publish_snapshot(warehouse).stem.removeprefix("snapshot-")
    published = time.perf_counter()
    save_state(warehouse, arrivals)
    return CycleResult(
        arrivals=arrivals,
        built=True,
        measure_seconds=measured - started,
        build_seconds=built - measured,
        publish_seconds=published - built,
        total_seconds=published - started,
        snapshot=snapshot,
    )


def incremental_build(warehouse: Warehouse, *, with_tests: bool = False) -> Any:
    """dbt's incremental run of the models; with ``with_tests``, ``dbt build`` (tests too).

    Models only by default: data tests scan whole tables (unique keys over every
    heartbeat), so their cost follows the history, while a refresh's cost must
    follow the new data. ``daybook build`` and CI run the tests.
    """
    from daybook.build import BuildResult, node_results, run_build, run_dbt

    if with_tests:
        return run_build(warehouse)
    started = time.perf_counter()
    outcome = run_dbt(warehouse, ["run", "--quiet"])
    nodes = node_results(outcome.result)
    error = " ".join(str(outcome.exception).split()) if outcome.exception else None
    return BuildResult(
        success=bool(outcome.success),
        nodes=nodes,
        seconds=time.perf_counter() - started,
        error=error,
    )


def _served(warehouse: Warehouse) -> bool:
    if warehouse.backend != "duckdb":
        return True
    from daybook.serving import current_snapshot

    return current_snapshot(warehouse) is not None


# --------------------------------------------------------------------------- the command

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``"5m"`` -> 300.0; accepts ms, s, m, h, or bare seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration like 30s, 5m or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class _Stopper:
    """First Ctrl-C/SIGTERM: finish the running cycle, then stop. Second: abort now."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        _log("refresh: stopping after this cycle (Ctrl-C again to abort)")


def _log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} {message}")
    sys.stdout.flush()


@click.command()
@click.option(
    "--every",
    metavar="DURATION",
    default=None,
    help="Repeat every DURATION (e.g. 30s, 5m) until stopped; default: run once.",
)
@click.option("--force", is_flag=True, help="Build even when nothing new arrived.")
@click.option(
    "--with-tests",
    is_flag=True,
    help="Run dbt's data and unit tests in each cycle too (cost grows with the history).",
)
@click.option("--cycles", type=int, default=None, hidden=True, help="Stop after N cycles.")
def refresh(every: str | None, force: bool, with_tests: bool, cycles: int | None) -> None:
    """Build what arrived since the last run (incrementally) and publish it to the API."""
    interval = parse_duration(every) if every else None
    warehouse = warehouse_from_env()
    stopper = _Stopper()
    stopper.install()

    def build(target: Warehouse) -> Any:
        return incremental_build(target, with_tests=with_tests)

    failures = 0
    done = 0
    try:
        while True:
            cycle_start = time.monotonic()
            try:
                result = refresh_once(warehouse, force=force, build=build)
                _log(result.log_line())
                failures = 0
            except KeyboardInterrupt:
                raise
            except Exception as error:
                failures += 1
                _log(f"refresh: cycle failed: {error}")
                if interval is None:
                    raise SystemExit(1) from None
            done += 1
            if interval is None or stopper.event.is_set() or (cycles and done >= cycles):
                break
            remaining = interval - (time.monotonic() - cycle_start)
            if stopper.event.wait(max(0.0, remaining)):
                break
    except KeyboardInterrupt:
        _log("refresh: aborted; the last published data stays served")
        raise SystemExit(130) from None
    if stopper.event.is_set():
        _log("refresh: stopped")
    if failures:
        raise SystemExit(1)


def summary_dict(result: CycleResult) -> dict[str, Any]:
    """A JSON-friendly record of a cycle (used by the benchmark)."""
    data = asdict(result)
    arrivals = data["arrivals"]
    for key in ("first_day", "last_day", "high_water"):
        if arrivals[key] is not None:
            arrivals[key] = arrivals[key].isoformat()
    return data
