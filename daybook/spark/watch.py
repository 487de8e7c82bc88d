"""Stop a local Spark server when the process that started it is gone (tests).

A test session starts its own server (``tests/conftest.py``'s ``spark_server``) and stops
it at its end; when the session is killed instead (a timeout, Ctrl-C twice) the server,
started detached by Spark's daemon script, would run on. This watcher, started detached
too, polls the owner and stops that one server (its state folder) once the owner is gone.

Run as ``python -m daybook.spark.watch OWNER_PID STATE_DIR``, or :func:`watch_owner`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 2.0


def watch_owner(state_dir: Path, owner_pid: int | None = None) -> subprocess.Popen:
    """Start the watcher for the server of ``state_dir`` and ``owner_pid`` (this process)."""
    return subprocess.Popen(
        [sys.executable, "-m", "daybook.spark.watch", str(owner_pid or os.getpid()),
         str(Path(state_dir).resolve())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(owner_pid: int, state_dir: Path) -> None:
    from daybook.spark import server

    while _alive(owner_pid):
        if server.running(state_dir) is None:
            return  # stopped by its owner: nothing to do
        time.sleep(POLL_SECONDS)
    server.stop(state_dir)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
