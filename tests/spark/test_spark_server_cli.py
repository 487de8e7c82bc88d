"""``daybook spark start|status|stop`` as a user runs them (a subprocess each): the URL alone on
start's last line, a second start finding the running server, status's words and exit codes,
stop (from a process holding a session to the server); and the refusals: no Java, a port
already taken, a server that dies while starting (its log's words shown), a port taken while
the server starts (another is tried). Each test uses a folder of its own, never the session's
``spark_server``; the port-taken start and the killed server share one server (one JVM start
fewer), the start's outcome recorded before the kill."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import require_spark

from daybook.spark.server import free_port
from daybook.spark.state import ServerInfo

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build


def daybook(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "daybook.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env or dict(os.environ),
        check=False,
    )


STOPPER = """
import sys
from daybook.cli import main
from daybook.spark.session import open_session
session = open_session(sys.argv[1])  # left open, as a fixture or a reader leaves it
assert session.sql("select 1 as one").collect()[0].one == 1
main(["spark", "stop", "--state-dir", sys.argv[2]], prog_name="daybook")
"""


def test_start_status_stop(tmp_path: Path):
    """A user's round: start, status, a second start, stop. The stop is run by a process
    that holds an open session to the server it stops (as the ``spark_server`` fixture's
    teardown does): that process used to wait pyspark's retry budget, about 15 minutes,
    before it could exit; ``server.stop`` closes this process's sessions to it first."""
    require_spark()
    port = free_port()
    state = tmp_path / "server"
    started = daybook("spark", "start", "--port", str(port), "--state-dir", str(state),
                      "--driver-memory", "512m")  # fmt: skip
    stopper = [sys.executable, "-c", STOPPER, f"sc://127.0.0.1:{port}", str(state)]
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.splitlines()[-1] == f"sc://127.0.0.1:{port}"
        assert "waiting" in started.stderr or "answering" in started.stderr
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens on the loopback address it printed

        status = daybook("spark", "status", "--state-dir", str(state))
        assert status.returncode == 0
        assert f"running at sc://127.0.0.1:{port}" in status.stdout

        again = daybook("spark", "start", "--port", str(port), "--state-dir", str(state))
        assert again.returncode == 0, again.stderr
        assert again.stdout.splitlines()[-1] == f"sc://127.0.0.1:{port}"
        assert "already runs" in again.stderr
    finally:
        stopped = subprocess.run(stopper, capture_output=True, text=True, timeout=180,
                                 check=False)  # fmt: skip
        if stopped.returncode != 0:
            daybook("spark", "stop", "--state-dir", str(state))  # never left running
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped the Spark Connect server" in stopped.stdout
    status = daybook("spark", "status", "--state-dir", str(state))
    assert status.returncode == 1
    assert status.stdout.strip() == "not running"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "no Spark Connect server" in daybook("spark", "stop", "--state-dir", str(state)).stdout


def test_start_without_java_says_how_to_install_it(tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # python, but no java
    result = daybook("spark", "start", "--state-dir", str(tmp_path / "s"), env=env)
    assert result.returncode == 1
    assert "openjdk-17-jre-headless" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_start_on_a_taken_port_is_refused(tmp_path: Path):
    require_spark()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = daybook("spark", "start", "--port", str(port), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr
    status = daybook("spark", "status", "--state-dir", str(tmp_path / "s"))
    assert status.returncode == 1


def test_a_server_that_dies_while_starting_shows_its_log(tmp_path: Path):
    require_spark()
    result = daybook("spark", "start", "--port", str(free_port()), "--state-dir",
                     str(tmp_path / "s"), "--driver-memory", "lots")  # fmt: skip
    assert result.returncode == 1
    assert "did not start" in result.stderr or "died while starting" in result.stderr
    assert "Invalid maximum heap size" in result.stderr  # the JVM's own words, from the log
    assert "full log:" in result.stderr
    assert daybook("spark", "status", "--state-dir", str(tmp_path / "s")).returncode == 1


OWNER = """
import sys, time
from pathlib import Path
from daybook.spark import server
from daybook.spark.watch import watch_owner
info = server.start_on_a_free_port(state_dir=Path(sys.argv[1]), driver_memory="512m")
watch_owner(Path(sys.argv[1]))
print(info.pid, flush=True)
time.sleep(600)
"""


def test_the_server_of_a_killed_test_process_is_stopped(tmp_path: Path):
    """The ``spark_server`` fixture's watcher: a pytest process killed before its teardown
    (a timeout) leaves no server running."""
    import signal
    import time

    from daybook.spark.state import pid_alive

    require_spark()
    state = tmp_path / "s"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        server_pid = int(owner.stdout.readline())
        assert pid_alive(server_pid, state.resolve())
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 60
    while pid_alive(server_pid, state.resolve()) and time.monotonic() < deadline:
        time.sleep(1)
    assert not pid_alive(server_pid, state.resolve())
    assert daybook("spark", "status", "--state-dir", str(state)).returncode == 1


@dataclass
class StartedPastATakenPort:
    """A server started while the first port offered was taken after its check, and what
    was seen right after the start."""

    info: ServerInfo
    taken: int
    checked: list[int]
    running: ServerInfo | None  # what ``server.running`` then said
    listening: bool  # the server's own process listened on its port
    taken_left_alone: bool  # the other listener still accepted connections


@pytest.fixture(scope="module")
def started_past_a_taken_port(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StartedPastATakenPort]:
    """The port is checked free before the JVM starts, but bound seconds later: another
    server can take it meanwhile. Here the first port the kernel offers is taken by a socket
    of this test right after its check. One JVM for two tests: what the start did is recorded
    here, and ``test_processes_whose_server_was_killed_fail_and_exit_at_once`` then kills it."""
    from daybook.spark import server
    from daybook.spark.state import listening

    require_spark()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    offered = iter([taken])
    checked: list[int] = []
    real_check = server.port_is_free

    def taken_after_its_first_check(port: int) -> bool:
        if port == taken and not checked:
            checked.append(port)
            return True
        return real_check(port)

    state = tmp_path_factory.mktemp("taken-port") / "s"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(server, "free_port", lambda: next(offered, None) or free_port())
            patch.setattr(server, "port_is_free", taken_after_its_first_check)
            info = server.start_on_a_free_port(state_dir=state, driver_memory="512m")
        try:
            with socket.create_connection(("127.0.0.1", taken), timeout=5):
                taken_left_alone = True
        except OSError:
            taken_left_alone = False
        yield StartedPastATakenPort(
            info=info,
            taken=taken,
            checked=checked,
            running=server.running(state),
            listening=listening(info.port, info.pid),
            taken_left_alone=taken_left_alone,
        )
    finally:
        server.stop(state)
        holder.close()


def test_a_port_taken_while_the_server_starts_is_given_up_for_another(
    started_past_a_taken_port: StartedPastATakenPort,
):
    """That other listener must not pass for the new server (the tests and the bench then
    talked to it, or waited minutes on a query it cannot answer); the start that picked a
    free port tries another."""
    started = started_past_a_taken_port
    assert started.checked == [started.taken]  # the taken port was tried first
    assert started.info.port != started.taken and started.running == started.info
    assert started.listening
    assert started.taken_left_alone


READER = """
import sys
from daybook.spark.session import open_session
session = open_session(sys.argv[1])  # left open, as a reader leaves it
assert session.sql("select 1 as one").collect()[0].one == 1
print("ready", flush=True)
sys.stdin.readline()  # the server is killed meanwhile
"""


def test_processes_whose_server_was_killed_fail_and_exit_at_once(
    tmp_path: Path, started_past_a_taken_port: StartedPastATakenPort
):
    """A Spark server that dies under its clients (killed, out of memory, a cluster gone)
    held them for pyspark's retry budget, about 15 minutes: a reader's exit waited on the
    release of its last query (a thread the exit joins) and of its session, and a ``daybook
    build`` waited on dbt's statement in flight. Now Daybook's sessions and dbt's retry for
    ``DAYBOOK_SPARK_RETRY_SECONDS`` (2 here) and the release at exit is sent once."""
    import signal
    import time

    info = started_past_a_taken_port.info  # the fixture stops it at the module's end
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("SPARK_")},
        "DAYBOOK_SPARK_RETRY_SECONDS": "2",
        "DAYBOOK_DATABASE_URL": info.url,
        "DAYBOOK_STATE_DIR": str(tmp_path / "state"),
    }
    dbt_log = tmp_path / "state" / f"spark-127.0.0.1-{info.port}" / "dbt" / "logs" / "dbt.log"
    build_output = tmp_path / "build.log"
    children: list[subprocess.Popen] = []
    try:
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, info.url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        children.append(reader)
        assert reader.stdout.readline().strip() == "ready"
        with open(build_output, "w", encoding="utf-8") as output:
            build = subprocess.Popen(
                [sys.executable, "-m", "daybook.cli", "build"],
                cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        children.append(build)
        deadline = time.monotonic() + 180
        while not (dbt_log.exists() and " START " in dbt_log.read_text(errors="replace")):
            assert build.poll() is None, build_output.read_text()
            assert time.monotonic() < deadline, "dbt never started a model"
            time.sleep(0.2)
        os.kill(info.pid, signal.SIGKILL)

        reader.stdin.close()  # the reader's readline returns: it exits
        assert reader.wait(timeout=60) == 0
        assert build.wait(timeout=120) == 1, build_output.read_text()
        assert "Traceback" not in build_output.read_text()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
