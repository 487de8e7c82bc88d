"""The folder of a local Spark Connect server, and what it says about the server.

``server.json`` (port, pid, URL), the pid file Spark's daemon script writes, ``logs/``;
whether the recorded process still runs (and is that folder's server: a recycled pid is
never taken for it); ports on 127.0.0.1. ``daybook.spark.server`` starts and stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_DIR_ENV = "DAYBOOK_SPARK_DIR"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


@dataclass(frozen=True)
class ServerInfo:
    """What ``server.json`` records about a started server."""

    port: int
    pid: int
    url: str
    state_dir: str
    driver_memory: str


def default_state_dir() -> Path:
    """``DAYBOOK_SPARK_DIR``, else ``spark/`` in ``DAYBOOK_STATE_DIR`` (where Daybook keeps a
    warehouse's local state: one setting moves both), else ``.daybook/spark`` under the
    working directory."""
    from daybook.config import local_state_root

    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV]).resolve()
    return local_state_root() / "spark"


def url_for(port: int) -> str:
    return f"sc://127.0.0.1:{port}"


def port_is_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice), for tests running several servers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int, pid: int) -> bool:
    """Whether process ``pid`` listens on 127.0.0.1:``port``.

    Not merely whether something does: the port is checked free before the server's JVM
    starts, but bound seconds later, and another server may take it meanwhile (the JVM then
    fails to bind and exits). Where ``/proc`` does not say whose a socket is (not Linux, or
    a sandbox that hides it), anything listening counts.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return False
    listeners = _listening_socket_inodes(port)
    if not listeners:  # no /proc, or one that does not show the socket: trust the connect
        return True
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") in listeners:
                return True
    return False


def _listening_socket_inodes(port: int) -> set[str]:
    """``socket:[inode]`` of each TCP socket listening on ``port`` (``/proc/net/tcp``, 6;
    none without ``/proc``)."""
    found: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    found.add(f"socket:[{inode}]")
    return found


def pid_alive(pid: int, state_dir: Path) -> bool:
    """Whether ``pid`` runs and is the Spark Connect server of ``state_dir``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        try:
            os.kill(pid, 0)  # no /proc (macOS): trust the pid file
        except OSError:
            return False
        return True
    return SERVER_CLASS in cmdline and str(state_dir) in cmdline


def info_path(state_dir: Path) -> Path:
    return state_dir / "server.json"


def read_info(state_dir: Path) -> ServerInfo | None:
    try:
        return ServerInfo(**json.loads(info_path(state_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running(state_dir: Path | None = None) -> ServerInfo | None:
    """The server of ``state_dir`` when its process is alive, else None."""
    state_dir = (state_dir or default_state_dir()).resolve()
    info = read_info(state_dir)
    if info is None or not pid_alive(info.pid, state_dir):
        return None
    return info


def log_file(state_dir: Path) -> Path | None:
    logs = sorted((state_dir / "logs").glob("spark-*.out"), key=lambda path: path.stat().st_mtime)
    return logs[-1] if logs else None


def log_tail(state_dir: Path, lines: int = 25) -> str:
    path = log_file(state_dir)
    if path is None:
        return "(no log written)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) + f"\n(full log: {path})"


def read_pid(state_dir: Path) -> int | None:
    for path in state_dir.glob("spark-*SparkConnectServer*.pid"):
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return None


def write_info(info: ServerInfo) -> None:
    info_path(Path(info.state_dir)).write_text(json.dumps(asdict(info)))
