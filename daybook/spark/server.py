"""A local Spark Connect server for development and tests (``daybook spark start|stop|status``).

The pip ``pyspark`` package ships Spark itself (its jars, ``sbin/start-connect-server.sh``),
so the only thing missing on a fresh machine is Java 17. The server runs ``local[2]``
bound to 127.0.0.1 (``SPARK_LOCAL_IP`` and the gRPC binding address: ``remote("local")``
would listen on every interface), with a Hive catalog whose warehouse directory and Derby
metastore live in the server's state folder, so tables survive a restart and several
servers (one per test worker) never share files.

State folder (``.daybook/spark`` by default, ``DAYBOOK_SPARK_DIR`` or ``--state-dir``):
``server.json`` (port, pid, URL), ``logs/`` (the server's output), ``warehouse/``
(parquet files), ``metastore_db/`` (Derby), ``conf/`` (log levels).

The process is started by Spark's own daemon script, which writes its pid file into the
state folder; ``stop`` signals only that pid, and only when its command line still names
this state folder (a recycled pid is never killed).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daybook.spark.state import (
    STATE_DIR_ENV,
    ServerInfo,
    default_state_dir,
    free_port,
    info_path,
    listening,
    log_tail,
    pid_alive,
    port_is_free,
    read_pid,
    running,
    url_for,
    write_info,
)

# re-exported: the CLI and the tests' fixture reach them through this module
__all__ = [
    "STATE_DIR_ENV",
    "ServerInfo",
    "free_port",
    "running",
    "start",
    "start_on_a_free_port",
    "stop",
]

DEFAULT_PORT = 15002
DEFAULT_DRIVER_MEMORY = "2g"
DEFAULT_MASTER = "local[2]"
DRIVER_MEMORY_ENV = "DAYBOOK_SPARK_DRIVER_MEMORY"
MASTER_ENV = "DAYBOOK_SPARK_MASTER"
START_TIMEOUT_SECONDS = 180.0
JAVA_HINT = (
    "Java 17 is needed to run a local Spark server and `java` was not found: install it "
    "with `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu), or set JAVA_HOME"
)
# Spark's INFO lines would grow the log by megabytes per build; the server's own
# "started at" line and warnings are enough to diagnose a failed start.
LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.connect.name = org.apache.spark.sql.connect.service.SparkConnectServer
logger.connect.level = info
logger.derby.name = org.apache.hadoop.hive.metastore
logger.derby.level = error
"""


class SparkServerError(RuntimeError):
    """The local server cannot be started or stopped; the message says why and what to do."""


class PortTakenError(SparkServerError):
    """The port was free when checked, but another server holds it now."""


def spark_home() -> Path:
    """The installed pyspark package directory: it is a complete Spark distribution."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def java_command() -> str | None:
    """``$JAVA_HOME/bin/java`` or ``java`` on the PATH, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def _server_arguments(state_dir: Path, port: int, driver_memory: str, master: str) -> list[str]:
    warehouse_dir = state_dir / "warehouse"
    metastore = state_dir / "metastore_db"
    confs = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(warehouse_dir),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore};create=true"
        ),
        # derby.log beside the metastore, not in whatever folder the server started from
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={state_dir}",
        # timestamps are UTC instants without a zone (contract section 1)
        "spark.sql.session.timeZone": "UTC",
        # a session that read a table sees it rebuilt by another session (dbt) after this
        # many seconds without REFRESH TABLE (a static setting: only at server start)
        "spark.sql.metadataCacheTTLSeconds": "2",
        # the Derby metastore cannot filter partitions on a date key: list them all instead
        # of failing ("Filtering is supported only on partition keys of type string")
        "spark.sql.hive.metastorePartitionPruningFallbackOnException": "true",
        # list a partitioned table's folders on the driver, not with a Spark job of one task
        # per folder (the default above 32 folders): on a local disk a job costs far more
        # than the listing, and every query of a table with daily partitions lists them all
        # (560 partitions, a full scan: 2-9 s instead of 12-42 s, measured on a busy machine)
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
        "spark.ui.enabled": "false",
        # small local data: AQE coalesces further; the default 200 costs seconds per query
        "spark.sql.shuffle.partitions": "8",
    }
    arguments = ["--master", master, "--driver-memory", driver_memory]
    for key, value in confs.items():
        arguments += ["--conf", f"{key}={value}"]
    return arguments


def start(
    *,
    port: int = DEFAULT_PORT,
    state_dir: Path | None = None,
    driver_memory: str | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> ServerInfo:
    """Start the local server (or find it running) and wait until it answers a query.

    Raises :class:`SparkServerError` without Java, when the port is taken, and when the
    server dies or does not answer within ``timeout`` (with the log's last lines).
    """
    say = progress or (lambda _message: None)
    state_dir = (state_dir or default_state_dir()).resolve()
    already = running(state_dir)
    if already is not None:
        say(f"a Spark Connect server already runs for {state_dir} (pid {already.pid})")
        return already
    java = java_command()
    if java is None:
        raise SparkServerError(JAVA_HINT)
    if not port_is_free(port):
        raise PortTakenError(
            f"port {port} on 127.0.0.1 is already in use (another Spark server? "
            "`daybook spark status`); choose another with --port N"
        )
    memory = driver_memory or os.environ.get(DRIVER_MEMORY_ENV) or DEFAULT_DRIVER_MEMORY
    master = os.environ.get(MASTER_ENV) or DEFAULT_MASTER
    for folder in ("logs", "conf", "warehouse"):
        (state_dir / folder).mkdir(parents=True, exist_ok=True)
    (state_dir / "conf" / "log4j2.properties").write_text(LOG4J2)
    home = spark_home()
    env = _server_environment(home, state_dir, java)
    say(f"starting a Spark Connect server on 127.0.0.1:{port} ({master}, driver memory {memory})")
    launched = subprocess.run(
        ["bash", str(home / "sbin" / "start-connect-server.sh"),
         *_server_arguments(state_dir, port, memory, master)],
        env=env, cwd=state_dir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    pid = read_pid(state_dir)
    if launched.returncode != 0 or pid is None:
        raise SparkServerError(
            f"the Spark Connect server did not start: {launched.stdout.strip()} "
            f"{launched.stderr.strip()}\n{log_tail(state_dir)}"
        )
    info = ServerInfo(port, pid, url_for(port), str(state_dir), memory)
    write_info(info)
    _wait_until_answering(info, state_dir, timeout, say)
    return info


def _server_environment(home: Path, state_dir: Path, java: str) -> dict[str, str]:
    from daybook.spark.session import without_spark_client_variables

    env = without_spark_client_variables(dict(os.environ))
    env.update(
        SPARK_HOME=str(home),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(state_dir / "logs"),
        SPARK_PID_DIR=str(state_dir),
        SPARK_CONF_DIR=str(state_dir / "conf"),
        SPARK_IDENT_STRING="daybook",
    )
    if "JAVA_HOME" not in env:
        env["JAVA_HOME"] = str(Path(os.path.realpath(java)).parent.parent)
    return env


def _wait_until_answering(
    info: ServerInfo, state_dir: Path, timeout: float, say: Callable[[str], None]
) -> None:
    started = time.monotonic()
    last_said = 0.0
    while not listening(info.port, info.pid):
        waited = time.monotonic() - started
        if not pid_alive(info.pid, state_dir):
            _terminate(info, state_dir)  # not `stop`: it closes sessions to whoever holds the port
            if not port_is_free(info.port):
                raise PortTakenError(
                    f"port {info.port} on 127.0.0.1 was taken by another server while this "
                    "one started; choose another with --port N"
                )
            raise SparkServerError(
                f"the Spark Connect server died while starting:\n{log_tail(state_dir)}"
            )
        if waited > timeout:
            stop(state_dir)
            raise SparkServerError(
                f"the Spark Connect server did not answer within {timeout:.0f} s; stopped it:\n"
                + log_tail(state_dir)
            )
        if waited - last_said >= 2:
            say(f"  waiting for it to answer ... {waited:.0f} s")
            last_said = waited
        time.sleep(0.25)
    try:
        _check_query(info.url)
    except Exception as error:  # the port answers but Spark does not: say what it logged
        raise SparkServerError(
            f"the Spark Connect server listens but a query failed ({error}):\n{log_tail(state_dir)}"
        ) from None
    say(f"  answering after {time.monotonic() - started:.1f} s")


def _check_query(url: str) -> None:
    from daybook.spark.session import open_session

    session = open_session(url)
    try:
        session.sql("select 1").collect()
    finally:
        session.stop()


def start_on_a_free_port(*, attempts: int = 3, **options: Any) -> ServerInfo:
    """:func:`start` on a port the kernel picks, again on another should a server take it
    first (the bench and the tests start servers beside each other)."""
    for attempt in range(1, attempts + 1):
        try:
            return start(port=free_port(), **options)
        except PortTakenError:
            if attempt == attempts:
                raise
    raise ValueError(f"attempts must be at least 1, not {attempts}")


def stop(state_dir: Path | None = None, *, timeout: float = 30.0) -> ServerInfo | None:
    """Stop the server of ``state_dir``: SIGTERM, then SIGKILL after ``timeout``; None if none."""
    from daybook.spark.session import stop_open_sessions

    state_dir = (state_dir or default_state_dir()).resolve()
    info = running(state_dir)
    if info is None:
        info_path(state_dir).unlink(missing_ok=True)
        return None
    stop_open_sessions(info.port)  # a client left open to a stopped server holds the exit
    _terminate(info, state_dir, timeout)
    return info


def _terminate(info: ServerInfo, state_dir: Path, timeout: float = 30.0) -> None:
    """Stop the server process of ``info`` if it runs (SIGTERM, then SIGKILL) and forget it."""
    if pid_alive(info.pid, state_dir):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(info.pid, state_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(info.pid, state_dir):
        os.kill(info.pid, signal.SIGKILL)
    info_path(state_dir).unlink(missing_ok=True)
    for path in state_dir.glob("spark-*SparkConnectServer*.pid"):
        path.unlink(missing_ok=True)
