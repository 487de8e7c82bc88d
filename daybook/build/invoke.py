"""Invoking dbt on this project against a warehouse, in process.

dbt is driven through its Python entry point (``dbtRunner``) rather than a
subprocess, so results come back as objects we can summarise and test. Project,
profile, target and the warehouse's own artifact folders
(:class:`~daybook.dbt_artifacts.DbtArtifacts`) are added to every invocation here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from daybook.build.profile import dbt_env, profiles_dir
from daybook.config import Warehouse, project_dir
from daybook.dbt_artifacts import DbtArtifacts

QUIET_DBT = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation, then restore the previous ones."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(
    warehouse: Warehouse,
    args: list[str],
    *,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Invoke dbt (``dbtRunner``) on this project against ``warehouse``; the dbtRunnerResult.

    ``args`` is the dbt command and its own options (``["build", "--full-refresh"]``,
    ``["docs", "generate"]``, ``["parse"]``); project, profiles, target and
    per-warehouse artifact paths are added here.
    """
    from dbt.cli.main import dbtRunner

    artifacts = DbtArtifacts.of(warehouse)
    artifacts.root.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(project_dir()),
        "--profiles-dir",
        str(profiles_dir()),
        "--target",
        warehouse.backend,
        "--target-path",
        str(artifacts.target_path),
        "--log-path",
        str(artifacts.log_path),
    ]
    gate = _OutputGate()
    passed = [gate.wrap(callback) for callback in callbacks or []]
    with _environment(dbt_env(warehouse) | QUIET_DBT), gate.watching():
        outcome = dbtRunner(callbacks=passed).invoke(command)
    if gate.interrupted or isinstance(outcome.exception, KeyboardInterrupt):
        raise KeyboardInterrupt  # the caller says what state the interrupted run left
    return outcome


class _OutputGate:
    """dbt's console output and events, passed on until Ctrl-C, and dropped after it.

    dbt catches Ctrl-C itself: it cancels its queries, then prints the interrupt's stack
    trace and reports the cancelled nodes as errors, which read as a failed build. Those
    are held back here; :func:`run_dbt` raises ``KeyboardInterrupt`` once dbt has
    returned, so the command says, in one line, that it was interrupted. The SIGINT
    handler that was installed still decides (``daybook refresh`` lets its first Ctrl-C
    finish the cycle); only when it raises is the gate shut.
    """

    def __init__(self) -> None:
        self.interrupted = False

    def write(self, text: str) -> int:  # dbt's console log stream
        if not self.interrupted:
            sys.stdout.write(text)
        return len(text)

    def flush(self) -> None:
        if not self.interrupted:
            sys.stdout.flush()

    def wrap(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def passed(event: Any) -> None:
            if not self.interrupted:
                callback(event)

        return passed

    @contextmanager
    def watching(self) -> Iterator[None]:
        from dbt_common.events import functions as dbt_events

        captured = dbt_events.get_capture_stream()
        dbt_events.capture_stdout_logs(self)  # dbt's console logger writes here
        _console_through(self)
        previous = _install_sigint(self)
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if captured is None:
                dbt_events.stop_capture_stdout_logs()
            else:
                dbt_events.capture_stdout_logs(captured)


def _console_through(gate: _OutputGate) -> None:
    """Until dbt sets up its own loggers (after it reads its flags), its events go to the
    loggers already there: the one dbt makes at import, writing to the real stdout, or the
    last invocation's, writing through that invocation's gate. A Ctrl-C while dbt reads its
    flags printed its stack trace through either. Replace them with one console logger
    writing through this gate (dbt's import-time defaults otherwise)."""
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager_client import cleanup_event_logger, get_event_manager
    from dbt_common.events.functions import get_stdout_config
    from dbt_common.events.logger import LineFormat

    cleanup_event_logger()
    console = get_stdout_config(LineFormat.PlainText, True, EventLevel.INFO, False)
    console.output_stream = gate
    get_event_manager().add_logger(console)


def _install_sigint(gate: _OutputGate) -> Any:
    """Chain a SIGINT handler that shuts ``gate`` when the handler before it raises; the
    previous handler (to restore), or None when none was installed (not the main thread,
    or SIGINT ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or not set from Python: left alone
        return None

    def on_sigint(signum: int, frame: Any) -> None:
        try:
            previous(signum, frame)
        except BaseException:
            gate.interrupted = True
            raise

    signal.signal(signal.SIGINT, on_sigint)
    return previous
