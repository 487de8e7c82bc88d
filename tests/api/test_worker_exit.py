"""A worker that exits stops its app threads before it closes the warehouse reader.

uvicorn's graceful timeout cancels a slow request's task, but the pool thread
running the Flask app keeps going, possibly inside a query; closing a DuckDB
connection under a running query can crash the process at exit. The
``worker_exit`` hook must therefore wait for running requests (and drop queued
ones) before it closes the reader. In process, with a stand-in app and reader
whose calls are recorded in order.
"""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest


def http_scope(path: str) -> dict:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "http_version": "1.1",
        "headers": [(b"host", b"daybook.test")],  # HTTP/1.1 needs one (the bridge answers 400)
    }


async def whole_request() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def ignore(message: dict) -> None:
    return None


def test_the_reader_is_closed_only_after_the_running_request_finished():
    from api.asgi_bridge import WsgiOnThreads
    from api.serve import _close_warehouse

    events: list[str] = []
    running, release = threading.Event(), threading.Event()

    class Reader:
        def close(self) -> None:
            events.append("reader closed")

    class SlowApp:
        extensions = {"daybook": SimpleNamespace(reader=Reader())}  # noqa: RUF012

        def __call__(self, environ, start_response):
            events.append(f"started {environ['PATH_INFO']}")
            running.set()
            assert release.wait(30)  # a query still running when the worker exits
            events.append(f"finished {environ['PATH_INFO']}")
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]

    bridge = WsgiOnThreads(SlowApp(), threads=1)

    async def uvicorn_gives_up() -> None:
        """The request is running when the graceful timeout cancels its task."""
        task = asyncio.create_task(bridge(http_scope("/running"), whole_request, ignore))
        assert await asyncio.to_thread(running.wait, 30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # on a thread of its own: a session's Playwright may hold this thread's event loop
    runner = threading.Thread(target=asyncio.run, args=(uvicorn_gives_up(),))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    queued = bridge.pool.submit(bridge.wsgi_app, {"PATH_INFO": "/queued"}, None)
    threading.Timer(0.5, release.set).start()  # the query ends while the worker is exiting

    _close_warehouse(None, SimpleNamespace(wsgi=bridge))

    assert events == ["started /running", "finished /running", "reader closed"]
    assert queued.cancelled()  # a request not yet started never runs against a closed reader


def test_a_stop_signal_met_by_sig_ign_on_the_way_out_leaves_no_traceback(capsys):
    """Ctrl-C's SIGINT and the master's SIGQUIT arrive together; if CPython catches the second
    just before the first one's handler sets ``SIG_IGN``, it reports an unraisable OSError
    with a traceback (seen in ``daybook demo``'s output). That report is dropped; others stay.
    """
    import signal
    import sys

    from api.worker import DaybookWorker

    worker = DaybookWorker.__new__(DaybookWorker)
    saved = {sig: signal.getsignal(sig) for sig in DaybookWorker.STOP_SIGNALS}
    saved_hook = sys.unraisablehook
    try:
        sys.unraisablehook = sys.__unraisablehook__  # a worker's (pytest installs its own)
        worker._ignore_stop_signals()
        hook = sys.unraisablehook
    finally:
        sys.unraisablehook = saved_hook
        for sig, handler in saved.items():
            signal.signal(sig, handler)

    def report(error: BaseException) -> None:
        """Have CPython report ``error`` as unraisable (as it does the late signal) to ``hook``."""

        class Raises:
            def __del__(self):
                raise error

        sys.unraisablehook = hook
        try:
            Raises()  # dropped at once: __del__ raises, CPython reports it
        finally:
            sys.unraisablehook = saved_hook

    report(OSError(f"Signal {int(signal.SIGQUIT)} ignored due to race condition"))
    assert capsys.readouterr().err == ""
    report(OSError(f"Signal {int(signal.SIGUSR1)} ignored due to race condition"))
    report(ValueError("something else"))
    err = capsys.readouterr().err
    assert f"Signal {int(signal.SIGUSR1)} ignored" in err
    assert "something else" in err


def test_a_stop_during_boot_whose_exit_was_swallowed_still_stops_the_worker():
    """Ctrl-C while a worker boots: the stop handler's ``sys.exit`` can land in a finalizer,
    where CPython swallows it; the worker must still leave before it serves, not serve on
    while ignoring stop signals until the master kills it."""
    import contextlib
    import signal
    import sys

    from api.worker import DaybookWorker

    saved = {sig: signal.getsignal(sig) for sig in DaybookWorker.STOP_SIGNALS}
    saved_hook = sys.unraisablehook
    worker = object.__new__(DaybookWorker)  # its attributes are the class's defaults
    try:
        with contextlib.suppress(SystemExit):  # as a finalizer it interrupted would
            worker._stop_signal(signal.SIGINT, None)
        outcome: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(worker._serve())
            except BaseException as leaving:  # SystemExit is the answer
                outcome.append(leaving)

        # on a thread of its own: a session's Playwright may hold this thread's event loop
        runner = threading.Thread(target=serve)
        runner.start()
        runner.join(timeout=30)
        assert not runner.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], SystemExit)
        assert outcome[0].code == 0
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        sys.unraisablehook = saved_hook


CTRL_C_DURING_IMPORT = '''
import os, signal, sys, time
from api.serve import DaybookServer, gunicorn_options


def ctrl_c():
    os.killpg(0, signal.SIGINT)  # a terminal's Ctrl-C: master and worker alike
    time.sleep(10)


class CtrlCWhileImporting(DaybookServer):
    """Its app's import is interrupted by Ctrl-C where ``sys.argv[1]`` says."""

    def load_wsgi_app(self):
        if sys.argv[1] == "set_name":  # as pydantic's model classes are being made

            class Field:
                def __set_name__(self, owner, name):
                    ctrl_c()

            class Model:
                field = Field()

        else:  # in a finalizer: CPython reports the exit as unraisable and carries on

            class Finalized:
                def __del__(self):
                    ctrl_c()

            Finalized()
        raise AssertionError("the app was built although Ctrl-C came first")


CtrlCWhileImporting(gunicorn_options("127.0.0.1", 0, 1, 1)).run()
'''


@pytest.mark.parametrize("where", ["set_name", "finalizer"])
def test_ctrl_c_while_a_worker_imports_the_app_stops_the_server_cleanly(tmp_path, where):
    """Ctrl-C while a worker still imports the app, seen in CI on ``daybook demo``. The stop's
    ``SystemExit`` raised inside a class's ``__set_name__`` reaches gunicorn as
    ``RuntimeError`` (Python 3.11), which it logged as a boot failure, halting the master
    with code 3; raised inside a finalizer, CPython printed it as an ignored exception with
    its traceback. The server must stop with code 0 and no traceback. A real gunicorn, in
    its own session."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "ctrl_c_during_import.py"
    script.write_text(CTRL_C_DURING_IMPORT, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(script), where],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "Worker failed to boot" not in output, output
    assert "Shutting down: Master" in output
