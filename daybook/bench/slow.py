"""Slow clients beside the load: connections that send part of a request and never finish.

A slowloris client opens a connection, sends a request line and a header,
then trickles one more header line now and then and never ends the request.
Under a server that gives each connection a thread from its first byte, 64
of them stop the service (issue 12). :class:`SlowClients` holds ``count``
such connections open from a background thread while wrk runs; when the
server closes one (its request-read deadline), it opens another at once, as
an attacker would, and counts the reopenings.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SLOW_CONNECTIONS = 64
PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: slow.bench\r\n"
DRIP = b"X-Slow: 1\r\n"


class SlowClients:
    """``count`` half-sent requests held open (and reopened when closed) while in the block."""

    def __init__(self, base_url: str, count: int = SLOW_CONNECTIONS, drip_every: float = 1.0):
        parts = urlsplit(base_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.count = count
        self.drip_every = drip_every
        self.reopened = 0
        self.min_open = count
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            self._open()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for key in list(self._selector.get_map().values()):
            self._close(key.fileobj)  # type: ignore[arg-type]
        self._selector.close()

    @property
    def open(self) -> int:
        return len(self._selector.get_map())

    def _open(self) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(PARTIAL_REQUEST)
            sock.setblocking(False)
        except OSError:
            return  # counted as not open; retried on the next round
        self._selector.register(sock, selectors.EVENT_READ)

    def _close(self, sock: socket.socket) -> None:
        self._selector.unregister(sock)
        sock.close()

    def _reopen(self, sock: socket.socket) -> None:
        self._close(sock)
        self.reopened += 1
        self._open()

    def _hold(self) -> None:
        next_drip = time.monotonic() + self.drip_every
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    sock.recv(65536)  # closed (b"") or answered: either way, start over
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                self._reopen(sock)
            if time.monotonic() >= next_drip:
                next_drip += self.drip_every
                for key in list(self._selector.get_map().values()):
                    try:
                        key.fileobj.send(DRIP)  # type: ignore[union-attr]
                    except OSError:
                        self._reopen(key.fileobj)  # type: ignore[arg-type]
            while self.open < self.count and not self._stop.is_set():
                before = self.open
                self._open()
                if self.open == before:
                    break  # refused: try again on the next round
            self.min_open = min(self.min_open, self.open)


def measure_beside_slow_clients(
    base_url: str,
    paths: list[str],
    *,
    headers: dict[str, str],
    seconds: float,
    work_dir: Path,
    clients: int = 4,
    slow: int = SLOW_CONNECTIONS,
) -> dict[str, Any]:
    """The same wrk load without, then with, ``slow`` slow connections held open beside it."""
    from daybook.bench.wrk import run_wrk

    def load() -> dict[str, Any]:
        run = run_wrk(
            base_url,
            paths,
            connections=clients,
            seconds=seconds,
            headers=headers,
            threads=1,
            work_dir=work_dir,
        )
        return {**asdict(run), "rps": run.rps}

    alone = load()
    with SlowClients(base_url, slow) as holder:
        beside = load()
    return {
        "slow_connections": slow,
        "clients": clients,
        "without": alone,
        "with": beside,
        "min_open": holder.min_open,
        "reopened": holder.reopened,
    }
