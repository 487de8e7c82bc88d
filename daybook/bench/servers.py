"""gunicorn processes for the benchmark: the API and the floor apps, same command line.

Both servers get the same workers, threads and worker class, so the bare
handler is a fair floor for the API. Worker memory is read from
``/proc/<pid>/status`` (``VmHWM``: peak resident set) after the load runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


def listening_url(log: str, port: int = 0) -> str | None:
    """The address in gunicorn's ``Listening at: http://127.0.0.1:PORT (PID)`` log line (at
    ``port``, when one was asked for), or None before it is written.

    Servers here bind port 0 (the kernel picks a free one) and are found by this line of
    their own log: a port picked beforehand could be taken by another server before the
    new one binds it, and polling that port would then reach the other server.
    """
    wanted = str(port) if port else r"\d+"
    found = re.search(rf"Listening at: (http://127\.0\.0\.1:{wanted}) ", log)
    return found[1] if found else None


@dataclass
class Server:
    """A running gunicorn master on loopback."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path
    worker_pids: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The master's child processes (gunicorn workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def worker_peak_rss_mb(self) -> float | None:
        """The largest peak resident set among the workers, in MB (Linux /proc)."""
        peaks = []
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except FileNotFoundError:
                continue
        return max(peaks) if peaks else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    log_dir: Path,
    ready_path: str = "/",
    timeout: float = 120.0,
) -> Server:
    """Start a gunicorn command bound to port 0 and wait until it answers at the address its
    own log names (:func:`listening_url`)."""
    log_path = log_dir / f"{name}.log"
    handle = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + timeout
    url = None
    while url is None:
        _fail_if_exited(name, process, log_path)
        url = listening_url(log_path.read_text(encoding="utf-8", errors="replace"))
        if url is None and time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"{name} server did not bind a port within {timeout:.0f}s")
        time.sleep(0.05 if url else 0.2)
    server = Server(name, process, int(url.rsplit(":", 1)[1]), log_path)
    wait_until_ready(server, ready_path, max(deadline - time.monotonic(), 1.0))
    return server


def _fail_if_exited(name: str, process: subprocess.Popen, log_path: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(
            f"{name} server exited ({process.returncode}):\n"
            + log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        )


# app -> (the command's module and arguments before its port option, the path that
# answers once it is ready)
APPS = {
    # the API exactly as production runs it: ``daybook serve`` (gunicorn, uvicorn workers)
    "api": (["daybook.cli", "serve", "--host", "127.0.0.1"], "/healthz"),
    # the floor apps under the same gunicorn application class and options as the API
    "bare": (["daybook.bench.bare"], "/trivial"),
}


def start_app(
    app: str,
    name: str,
    *,
    env: dict[str, str],
    log_dir: Path,
    workers: int = DEFAULT_WORKERS,
    threads: int = DEFAULT_THREADS,
) -> Server:
    """Start one of :data:`APPS` with the same workers and threads as the others."""
    head, ready_path = APPS[app]
    command = [sys.executable, "-m", *head, "--port", "0"]
    command += ["--workers", str(workers), "--threads", str(threads)]
    return start_server(name, command, env=env, log_dir=log_dir, ready_path=ready_path)


def start_gunicorn(
    name: str,
    app_target: str,
    *,
    env: dict[str, str],
    log_dir: Path,
    workers: int = DEFAULT_WORKERS,
    threads: int = DEFAULT_THREADS,
    ready_path: str = "/",
    timeout: float = 120.0,
) -> Server:
    """Start plain ``gunicorn app_target`` (a WSGI factory, ``gthread``) on a free loopback port
    (port 0: the kernel's choice).

    Tests use it to serve an app built by a factory expression; the API's own
    server stack is ``start_app("api", ...)``.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "5",
        "--timeout",
        "60",
        "--log-level",
        "info",  # its "Listening at" line names the port
        app_target,
    ]
    return start_server(
        name, command, env=env, log_dir=log_dir, ready_path=ready_path, timeout=timeout
    )


def wait_until_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _fail_if_exited(server.name, server.process, server.log_path)
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=2) as response:
                if response.status < 500 and len(server.workers()) > 0:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} server did not become ready within {timeout:.0f}s")
