"""The one place a Spark Connect client session is made.

Why one place: pyspark's builder leaves ``SPARK_CONNECT_MODE_ENABLED=1`` (and, for local
sessions, ``SPARK_LOCAL_REMOTE``) in ``os.environ``, which every child process started
afterwards inherits; a ``daybook`` or dbt subprocess then takes the Connect code paths
with no URL and fails. :func:`open_session` removes them again as soon as the session
exists. Consequence for callers: talk to Spark through ``session.sql(...)`` and
DataFrames made by the session (``createDataFrame``, ``table``); the column helpers of
``pyspark.sql.functions`` test that variable to pick their Connect version, so wrap
code that needs them in :func:`connect_mode`.

Readers see tables rebuilt by another session (dbt) because the local server sets a short
``spark.sql.metadataCacheTTLSeconds``; a cluster should set it too (docs/SCALING.md), and
:func:`refresh_table` forces it for one table at once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Iterator, MutableMapping
from typing import Any

from daybook.config import spark_retry_seconds

# Variables pyspark sets in os.environ for its own process; children must not inherit them.
CLIENT_VARIABLES = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE")
# Settings every Daybook session runs with: UTC timestamps (contract section 1), and
# ANSI mode as Spark 4 defaults (a bad cast fails instead of giving NULL silently).
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}
_LOCK = threading.Lock()
# pyspark logs every failed query's message and JVM stack trace as JSON on stderr when the
# exception is made; Daybook reports errors itself (first line only, no SQL, no trace).
NOISY_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def quiet_pyspark_loggers() -> None:
    """Silence the loggers named in :data:`NOISY_LOGGERS` (idempotent)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).disabled = True


def without_spark_client_variables(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` without the variables pyspark's client sets for itself (returned for chaining)."""
    for name in CLIENT_VARIABLES:
        env.pop(name, None)
    return env


def retry_policy(seconds: float) -> Any:
    """pyspark's default retry policy with as many retries as fit in ``seconds`` of waiting.

    The backoff grows 50 ms, 200 ms, 800 ms, ... up to a minute an attempt; a server that
    asks for a longer wait (its retry delay) is held to the budget too. What is retried
    stays pyspark's choice (an unavailable server, a preempted cursor).
    """
    from pyspark.sql.connect.client.retries import DefaultPolicy

    default = DefaultPolicy()
    budget_ms = seconds * 1000
    waited, retries, wait = 0.0, 0, float(default.initial_backoff)
    while retries < (default.max_retries or 0):
        step = min(wait, default.max_backoff or wait)
        if waited + step > budget_ms:
            break
        waited, retries, wait = waited + step, retries + 1, wait * default.backoff_multiplier
    return DefaultPolicy(max_retries=retries, max_server_retry_delay=int(budget_ms))


_OPEN_SESSIONS: weakref.WeakSet[Any] = weakref.WeakSet()
_AT_EXIT_REGISTERED = False


def stop_open_sessions(port: int | None = None) -> None:
    """Stop every session this process still has open (to ``port`` alone, when given), dbt's
    default one included.

    Called at exit, and by ``server.stop`` for the port of the server it stops: a client
    still open when its server is gone holds the process's exit for pyspark's whole retry
    budget (about 15 minutes), because pyspark's own exit hook sends a cleanup request to
    it; a stopped client's hook sends nothing. Stopping sends one request too (the session's
    release), so it is sent once, without retries: when the server was killed from outside,
    it fails at once instead of holding the exit.

    Why at exit: a Spark Connect session left open is stopped by its ``__del__`` during
    interpreter finalization, where closing its gRPC channel waits forever for threads that
    no longer run: the process never exits (seen with pyspark 4.3 and dbt's session).
    ``atexit`` handlers run while those threads still do.
    """
    if "pyspark.sql.connect.session" not in sys.modules:
        return  # no session was ever made in this process
    from pyspark.sql.connect.session import SparkSession

    sessions = [*list(_OPEN_SESSIONS), SparkSession._get_default_session()]
    for session in filter(None, sessions):
        with contextlib.suppress(Exception):
            if port is None or _port_of(session) == port:
                session.client.set_retry_policies([])
                session.stop()


def _port_of(session: Any) -> int | None:
    """The server port ``session`` talks to (pyspark keeps it on the client's channel builder)."""
    endpoint = getattr(getattr(session.client, "_builder", None), "endpoint", "")
    port = str(endpoint).rpartition(":")[2]
    return int(port) if port.isdigit() else None


def _stop_at_exit(session: Any | None = None) -> None:
    global _AT_EXIT_REGISTERED
    if session is not None:
        _OPEN_SESSIONS.add(session)
    if not _AT_EXIT_REGISTERED:
        atexit.register(stop_open_sessions)
        _AT_EXIT_REGISTERED = True


def open_session(url: str) -> Any:
    """A new Spark Connect session on ``url`` (``sc://host:port[/;params]``); the caller stops it.

    It retries an unanswering server for ``DAYBOOK_SPARK_RETRY_SECONDS`` (:func:`retry_policy`), so
    a server that dies under a command fails it in about that long, not in 15 minutes.

    Private to the caller: made with the session class itself, not the builder, so it is
    never pyspark's default session, which dbt-spark's ``session`` method picks up with
    ``getOrCreate`` (dbt's is opened by :func:`dbt_session_environment`), and its temporary
    views and settings are its own.
    """
    from pyspark.sql.connect.session import SparkSession

    check_reachable(url)
    quiet_pyspark_loggers()
    policy = retry_policy(spark_retry_seconds())
    with _LOCK:
        had = {name: os.environ.get(name) for name in CLIENT_VARIABLES}
        try:
            session = SparkSession(connection=url)
        finally:
            _restore(had)
        _stop_at_exit(session)
    session.client.set_retry_policies([policy])
    try:
        for key, value in SESSION_CONF.items():
            session.conf.set(key, value)
    except BaseException:
        session.stop()
        raise
    return session


class SparkUnreachable(ConnectionError):
    """No Spark Connect server answers at the URL's address (the message names host:port)."""


def check_reachable(url: str, timeout: float = 10.0) -> None:
    """Fail at once when nothing listens at ``url``'s host and port.

    pyspark's client retries an unreachable server with backoff for minutes before it
    gives up; a user (and a test) should hear in seconds that the server is not running.
    Only host and port are named: the URL's parameters can hold a token.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url.split("/;", 1)[0])
    host, port = parts.hostname or "", parts.port or 15002
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SparkUnreachable(
            f"no Spark Connect server answers at {host}:{port} ({reason.lower()}); "
            "start one with `daybook spark start`, or check DAYBOOK_DATABASE_URL"
        ) from None


def _restore(had: dict[str, str | None]) -> None:
    for name, value in had.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def dbt_session_environment(url: str) -> dict[str, str]:
    """Variables for one in-process dbt invocation on ``url`` (``daybook.build.profile``).

    dbt-spark's ``session`` method takes pyspark's default session (``getOrCreate``, which
    would open one from ``SPARK_REMOTE``) and keeps it for the process. A default session
    left from a run on another URL is stopped first, so dbt never talks to the wrong
    server; the default session is opened here, so that dbt's statements retry a server
    that stopped answering for ``DAYBOOK_SPARK_RETRY_SECONDS`` as Daybook's own sessions
    do (:func:`retry_policy`), not for pyspark's 15 minutes. ``SPARK_CONNECT_MODE_ENABLED``
    is listed so the invocation's environment guard removes it again afterwards (pyspark
    sets it during the run), and later children do not inherit it.
    """
    from pyspark.sql.connect.session import SparkSession

    quiet_pyspark_loggers()
    # dbt-spark asks for Hive support on every cursor; the server has it already, and
    # pyspark warns that a session cannot change that static setting
    warnings.filterwarnings("ignore", message=r".*spark\.sql\.catalogImplementation.*")
    policy = retry_policy(spark_retry_seconds())
    with _LOCK:
        default = SparkSession._get_default_session()
        if default is not None and _session_url(default) != _normalised(url):
            default.stop()
            default = None
        if default is None:
            had = {name: os.environ.get(name) for name in CLIENT_VARIABLES}
            try:
                default = SparkSession.builder.remote(url).create()  # default and active
            finally:
                _restore(had)
        default.client.set_retry_policies([policy])
        _stop_at_exit()
    return {"SPARK_REMOTE": url, "SPARK_CONNECT_MODE_ENABLED": "1"}


def _session_url(session: Any) -> str:
    try:
        builder = session.client._builder
        return _normalised(f"sc://{builder.url.hostname}:{builder.url.port}")
    except Exception:  # pyspark internals moved: treat it as another server
        return ""


def _normalised(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.split("/;", 1)[0])
    return f"sc://{parts.hostname}:{parts.port or 15002}"


@contextlib.contextmanager
def connect_mode() -> Iterator[None]:
    """Let ``pyspark.sql.functions`` build Connect columns inside the block (see module doc)."""
    with _LOCK:
        had = os.environ.get("SPARK_CONNECT_MODE_ENABLED")
        os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    try:
        yield
    finally:
        with _LOCK:
            if had is None:
                os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def refresh_table(session: Any, name: str) -> None:
    """Forget what ``session`` cached about table ``name`` (files, schema) after a rebuild."""
    session.sql(f"refresh table {name}")
