"""The gunicorn worker ``daybook serve`` runs: uvicorn's, with Daybook's protocol and signals.

Each worker reads requests on its own event loop (:mod:`api.http_protocol`)
and runs the Flask app on its thread pool (:mod:`api.asgi_bridge`). This
module holds the worker's uvicorn configuration and what it does with stop
signals, so that no worker ever dies by a signal.
"""

from __future__ import annotations

import re
import signal
import socket
import sys
from typing import Any

from uvicorn_worker import UvicornWorker

from api.http_protocol import SERVER_NAME, DaybookProtocol

GRACEFUL_SECONDS = 20  # in-flight requests get this long on stop
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
_LATE_SIGNAL = re.compile(r"Signal (\d+) ignored due to race condition")


def _quiet_about_stopping(unraisable: Any) -> None:
    """Say nothing of what stopping itself raises where CPython cannot raise it; installed
    only on the way out, so it hides nothing of a worker that serves.

    - Ctrl-C sends SIGINT and the master SIGQUIT within microseconds: when the
      second is caught by CPython before the first one's handler has set
      ``SIG_IGN`` but run after, CPython reports an unraisable ``OSError("Signal
      3 ignored due to race condition")`` with a traceback. The signal is
      ignored, exactly as meant.
    - A stop while booting exits by ``SystemExit``; when the signal lands in a
      finalizer, CPython prints that exit as "Exception ignored in: ..." with a
      traceback (seen in CI on ``daybook demo``). The stop is recorded and
      carried out all the same (``DaybookWorker._stop_requested``).

    Any other unraisable error is reported as usual.
    """
    error = unraisable.exc_value
    if isinstance(error, SystemExit):
        return
    late = _LATE_SIGNAL.fullmatch(str(error)) if isinstance(error, OSError) else None
    if late is None or int(late[1]) not in STOP_SIGNALS:
        sys.__unraisablehook__(unraisable)


class DaybookWorker(UvicornWorker):
    """gunicorn worker: uvicorn's event loop reads requests, :class:`DaybookProtocol` parses them.

    Stopping (a terminal's Ctrl-C reaches the master and every worker at
    once; the master then also sends each worker SIGQUIT): while serving,
    SIGTERM, SIGINT and SIGQUIT all make uvicorn drain in-flight requests and
    close. Outside that window: while the app is still being built the
    worker exits at once (code 0); once uvicorn is done (or the worker is
    leaving) it ignores further stop signals. Otherwise uvicorn's re-raise of
    the signal it stopped for, or the master's SIGQUIT arriving late, would
    meet the default action and kill the worker by that signal before
    ``worker_exit`` runs ("Worker was sent SIGQUIT!").
    """

    CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 - uvicorn_worker's own class attribute
        "loop": "uvloop",
        "http": DaybookProtocol,
        "lifespan": "off",
        "access_log": False,  # the app logs one JSON line per request itself
        "server_header": False,
        "date_header": False,  # uvicorn's is refreshed once a second; WsgiOnThreads sets it
        "headers": [("server", SERVER_NAME)],
        "timeout_graceful_shutdown": GRACEFUL_SECONDS - 2,
        # the client address is the socket's peer: uvicorn would otherwise take it from
        # X-Forwarded-For on loopback connections (gunicorn's forwarded_allow_ips), so a
        # client of a local pass-through proxy, or on this host, could pick any address
        # and escape the failed-authentication limit (api/README.md, rate limits)
        "proxy_headers": False,
    }
    STOP_SIGNALS = STOP_SIGNALS

    _booting = True
    _stop_requested = False

    def init_signals(self) -> None:
        super().init_signals()
        for sig in self.STOP_SIGNALS:
            signal.signal(sig, self._stop_signal)

    def _stop_signal(self, sig: int, frame: Any) -> None:
        """While booting, stop now; after serving, nothing is left to stop.

        The stop is also recorded, because ``sys.exit`` raises in whatever code the signal
        interrupted, and where that is a finalizer CPython reports the ``SystemExit`` as
        unraisable and carries on ("Exception ignored in: ..."): the worker then booted,
        ignoring stop signals, until the master killed it at its graceful timeout
        (seen in CI: "Worker was sent SIGKILL!" after a Ctrl-C during boot)."""
        if self._booting:
            self._stop_requested = True
            self._ignore_stop_signals()
            sys.exit(0)

    def load_wsgi(self) -> None:
        """Build the app; if a stop arrived meanwhile, leave quietly whatever the build raised.

        The stop handler's ``SystemExit`` is raised inside whatever import it
        interrupted, and some code wraps it: Python 3.11 turns an exception in a
        class's ``__set_name__`` (pydantic's model classes) into ``RuntimeError``.
        gunicorn would log that as a traceback and exit with its boot-error code,
        which makes the master halt with code 3 instead of stopping cleanly (seen in
        CI: Ctrl-C on ``daybook demo`` while a worker was still importing the API).
        """
        try:
            super().load_wsgi()
        except BaseException:
            if self._stop_requested:
                sys.exit(0)
            raise

    def _ignore_stop_signals(self) -> None:
        """On the way out, ignore further stop signals: the interpreter's teardown would reset
        Python-level handlers to the default action, which kills the process mid-exit."""
        sys.unraisablehook = _quiet_about_stopping
        for sig in self.STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    async def _serve(self) -> None:
        from gunicorn.arbiter import Arbiter
        from uvicorn.server import Server

        if self._stop_requested:  # a stop while booting whose exit was swallowed
            sys.exit(0)
        self.config.app = self.wsgi
        server = Server(config=self.config)
        self._booting = False
        # a Python-level handler (not the loop's), so nothing resets SIGQUIT to its default
        # action when the loop closes; uvicorn itself takes SIGINT and SIGTERM while serving
        signal.signal(signal.SIGQUIT, server.handle_exit)
        # uvloop closes the listening sockets it serves; hand it duplicates, so gunicorn's
        # own close of the originals at exit does not log a bad file descriptor
        sockets = [socket.fromfd(sock.fileno(), sock.family, sock.type) for sock in self.sockets]
        try:
            await server.serve(sockets=sockets)
        finally:
            self._ignore_stop_signals()
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
