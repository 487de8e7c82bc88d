"""The API's reader of a Spark warehouse: queries run on the current published snapshot.

One Spark Connect session per snapshot, its current database set to that snapshot's
(``use daybook_snapshot_<id>``), so the API's compiled SQL, which names marts unqualified,
reads the snapshot's copies (``daybook.serving.spark_snapshots``). The pointer view is
looked up at most once per ``pointer_ttl`` seconds (a Spark query costs a few hundred
milliseconds; the answer cache spares the rest), and at once when a publish on this
machine rewrites its local hint file (``spark_snapshots.publish_hint_path``, one ``stat``
a request): a request made after ``daybook build`` or ``refresh`` returned reads the new
snapshot, even after the API sat idle (it used to answer from the snapshot it last looked
up while one thread looked again). An API on another machine has the interval alone.
When the view names a new snapshot, new queries go to a new session and the old one is
stopped after its last query returns; the previous snapshots stay published for a
while, so a query in flight completes.

Parameters are bound by Spark (``:name`` with a mapping, ``?`` with a sequence), never
formatted into the text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from daybook.config import Warehouse
from daybook.serving.pointer import ServingError, pointer_stamp
from daybook.serving.spark_snapshots import SparkSnapshot, publish_hint_path, read_pointer

log = logging.getLogger(__name__)

POINTER_TTL_SECONDS = 1.0


@dataclass
class _OpenSession:
    """A Spark Connect session reading one snapshot, stopped after its last user leaves."""

    snapshot: SparkSnapshot
    connection: Any  # daybook.spark.dbapi.SparkConnection
    users: int = 0
    retired: bool = False

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # the server may be gone already; nothing to release then
            log.debug("stopping the session of snapshot %s failed", self.snapshot.id)


class SparkSnapshotReader:
    """The API's ``Reader`` (``api.warehouse_reader``) on a Spark warehouse."""

    dialect = "spark"

    def __init__(self, warehouse: Warehouse, *, pointer_ttl: float = POINTER_TTL_SECONDS):
        if warehouse.backend != "spark":
            raise ServingError("SparkSnapshotReader reads sc:// warehouses only")
        self.warehouse = warehouse
        self.pointer_ttl = pointer_ttl
        self._lock = threading.Lock()  # guards the open session and its users
        self._check_lock = threading.Lock()  # one pointer lookup at a time
        self._control: Any = None  # the session that reads the pointer view
        self._open: _OpenSession | None = None
        self._checked_at = float("-inf")
        self._closed = False
        self._hint_path = publish_hint_path(warehouse)
        self._hint_seen: tuple[int, int, int] | None = None

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        handle = self._acquire()
        try:
            return handle.connection.cursor().execute(sql, parameters).fetchall()
        finally:
            self._release(handle)

    def data_version(self) -> Hashable | None:
        """The id of the snapshot the next query will read (or a newer one)."""
        return self.current().id

    def current(self) -> SparkSnapshot:
        """The snapshot the pointer names, re-read at most every ``pointer_ttl`` seconds."""
        handle = self._acquire()
        self._release(handle)
        return handle.snapshot

    def close(self) -> None:
        with self._check_lock, self._lock:
            self._closed = True
            if self._open is not None:
                self._open.retired = True
                if self._open.users == 0:
                    self._open.close()
                self._open = None
            if self._control is not None:
                self._control.close()
                self._control = None

    def _acquire(self) -> _OpenSession:
        if self._closed:
            raise ServingError("the Spark reader is closed")
        announced = self._hint() != self._hint_seen
        # a publish announced by the hint: every thread waits for the look-up (a request
        # made after the publish returned must not read the snapshot before it); the
        # interval alone: one thread looks the pointer up and the others keep reading the
        # current snapshot meanwhile (or, before the first, wait for that thread's answer)
        if (announced or self._expired()) and self._check_lock.acquire(
            blocking=announced or self._open is None
        ):
            try:
                hint = self._hint()
                if not self._closed and (hint != self._hint_seen or self._expired()):
                    self._look_up(hint)
            finally:
                self._check_lock.release()
        with self._lock:
            if self._closed or self._open is None:
                raise ServingError("the Spark reader is closed")
            self._open.users += 1
            return self._open

    def _look_up(self, hint: tuple[int, int, int] | None) -> None:
        """Check the pointer (with the check lock held). Should switching to a new snapshot
        fail while one is open, the open one is served until the next interval, as when
        the view cannot be read: a failing Spark is asked once a second, not once a request."""
        try:
            self._check_pointer()
        except Exception as error:
            if self._open is None:
                raise
            log.warning(
                "cannot switch to the published Spark snapshot (%s); serving %s",
                error,
                self._open.snapshot.id,
            )
            self._checked_at = time.monotonic()
        self._hint_seen = hint

    def _expired(self) -> bool:
        return self._open is None or time.monotonic() - self._checked_at >= self.pointer_ttl

    def _hint(self) -> tuple[int, int, int] | None:
        """The publish hint file's identity (a publish replaces it), or None."""
        return pointer_stamp(self._hint_path)

    def _release(self, handle: _OpenSession) -> None:
        with self._lock:
            handle.users -= 1
            if handle.retired and handle.users == 0:
                handle.close()

    def _check_pointer(self) -> None:
        """Read the pointer view; switch sessions when it names a new snapshot (called
        with the check lock held, so one thread asks Spark for all)."""
        from daybook.spark.dbapi import connect

        try:
            if self._control is None:
                self._control = connect(self.warehouse.url)
            snapshot = read_pointer(self._control)
        except Exception as error:
            if self._open is None:
                raise
            # the snapshot open now stays readable for two more publishes: keep serving it
            log.warning(
                "cannot read the Spark snapshot pointer (%s); serving %s",
                error,
                self._open.snapshot.id,
            )
            self._checked_at = time.monotonic()
            return
        if snapshot is None and self._open is None:
            raise ServingError(
                "nothing is published on this Spark warehouse yet: run `daybook build`"
            )
        if snapshot is None or (self._open is not None and self._open.snapshot.id == snapshot.id):
            self._checked_at = time.monotonic()
            return
        connection = connect(self.warehouse.url)
        try:
            connection.execute(f"use {snapshot.database}")  # checked by read_pointer
        except BaseException:
            connection.close()
            raise
        with self._lock:
            previous, self._open = self._open, _OpenSession(snapshot, connection)
            self._checked_at = time.monotonic()
            if previous is not None:
                previous.retired = True
                if previous.users == 0:
                    previous.close()
        log.info("serving Spark snapshot %s", snapshot.id)
