"""``daybook refresh [--every 5m]``: refresh cycles (:mod:`daybook.refresh`) on a timer.

One log line per cycle. Ctrl-C (or SIGTERM) lets the running cycle finish and stops;
a second Ctrl-C aborts at once. A failed cycle is logged and the next one tried; the
last published data stays served meanwhile.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import click

from daybook.build.results import Built
from daybook.config import Warehouse, warehouse_from_env
from daybook.refresh import incremental_build, refresh_once

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

    def build(target: Warehouse) -> Built:
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
