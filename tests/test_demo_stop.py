"""Ctrl-C on ``daybook demo`` stops it cleanly, as it does ``daybook serve`` (issue 12).

The demo used to fork gunicorn's workers from the process that had just run
dbt, DuckDB and Great Expectations: the workers inherited their native state
without their threads, and Ctrl-C ended in SIGSEGV, SIGABRT ("terminate
called without an active exception") or a worker hanging until SIGKILL. The
test runs the real command on a tiny sample, waits until it serves, checks
that the serving process carries no leftover threads, sends SIGINT to its
process group as a terminal's Ctrl-C does, and reads the exit code and log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from served_api import wait_until_serving

DAYBOOK = str(Path(sys.executable).with_name("daybook"))
CRASH_SIGNS = (
    "terminate called",
    "SIGSEGV",
    "SIGABRT",
    "SIGKILL",
    "Segmentation fault",
    "core dumped",
    "was sent",  # gunicorn: "Worker (pid:N) was sent SIGKILL/SIGSEGV/..."
    "Traceback",
    "leaked",  # multiprocessing's resource tracker: something was not released
)


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_ctrl_c_stops_the_demo_cleanly(backend: str, make_warehouse, tmp_path: Path) -> None:
    warehouse = make_warehouse(backend)
    env = {
        **os.environ,
        "DAYBOOK_DATABASE_URL": warehouse.url,
        "DAYBOOK_STATE_DIR": str(tmp_path / "state"),
    }
    log_path = tmp_path / "demo.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [DAYBOOK, "demo", "--heartbeats", "2000", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        url = wait_until_serving(process, log_path, seconds=300)
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        # --port 0: the URLs printed before serving name the port the server listens on
        assert f"Activity page:  {url}/#token=" in log_path.read_text(encoding="utf-8")
        # the serving process (the demo's own pid) holds no threads left by dbt or DuckDB
        assert thread_count(process.pid) == 1, log_path.read_text()[-3000:]

        os.killpg(process.pid, signal.SIGINT)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert returncode == 0, output[-3000:]
    for sign in CRASH_SIGNS:
        assert sign not in output, f"{sign!r} in the demo's output:\n{output[-3000:]}"
    assert "Shutting down: Master" in output
    assert output.count("Worker exiting") >= 1
