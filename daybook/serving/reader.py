"""Reading the current snapshot: one read-only connection per snapshot, a cursor per thread."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from daybook.config import Warehouse
from daybook.serving.pointer import (
    POINTER_NAME,
    ServingError,
    Snapshot,
    _read_pointer,
    pointer_stamp,
    serving_dir,
)

# A serving worker's DuckDB buffer pool: the API reads a few row groups per
# request, and an unbounded pool (DuckDB's default is 80% of RAM) would grow each
# worker toward the size of the hot data. Re-reading an evicted block comes from
# the OS page cache, which all workers share.
SERVING_MEMORY_ENV = "DAYBOOK_DUCKDB_SERVING_MEMORY"
DEFAULT_SERVING_MEMORY = "100MB"
# DuckDB worker threads per serving process (default: DuckDB's, one per core).
SERVING_THREADS_ENV = "DAYBOOK_DUCKDB_SERVING_THREADS"

log = logging.getLogger(__name__)


_SERIALS = itertools.count()


@dataclass
class _OpenSnapshot:
    """A read-only connection to one snapshot file, closed after its last user leaves."""

    snapshot: Snapshot
    connection: Any
    serial: int = field(default_factory=lambda: next(_SERIALS))
    users: int = 0
    retired: bool = False
    cursors: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for cursor in self.cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        self.cursors.clear()
        with contextlib.suppress(Exception):
            self.connection.close()


class SnapshotReader:
    """Thread-safe read access to the current DuckDB snapshot, switching when a refresh publishes.

    Use ``with reader.connection() as con: con.execute(sql, params)``. Each
    thread gets its own cursor (DuckDB cursors are per-thread connections to
    one database instance); a query in flight keeps its snapshot open even if a
    newer one is published meanwhile.
    """

    def __init__(self, warehouse: Warehouse, *, duckdb_config: dict[str, Any] | None = None):
        if warehouse.backend != "duckdb":
            raise ServingError("SnapshotReader serves DuckDB warehouses only")
        self.warehouse = warehouse
        self.folder = serving_dir(warehouse)
        self.pointer = self.folder / POINTER_NAME
        self.duckdb_config: dict[str, Any] = {
            "memory_limit": os.environ.get(SERVING_MEMORY_ENV, DEFAULT_SERVING_MEMORY)
        }
        if os.environ.get(SERVING_THREADS_ENV):
            self.duckdb_config["threads"] = int(os.environ[SERVING_THREADS_ENV])
        self.duckdb_config.update(duckdb_config or {})
        self._lock = threading.Lock()
        self._open: _OpenSnapshot | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._local = threading.local()

    def current(self) -> Snapshot:
        """The newest published snapshot (re-reading the pointer only when it changed)."""
        return self._acquire(pin=False).snapshot

    def current_for_thread(self) -> Snapshot:
        """The current snapshot, recorded as this thread's, as if a query had just read it.

        For an answer served without a query (from a cache keyed on the
        snapshot id), so the headers describe the snapshot the answer is from.
        """
        snapshot = self.current()
        self._local.snapshot = snapshot
        return snapshot

    def thread_snapshot(self) -> Snapshot | None:
        """The snapshot this thread's last query read, for headers matching the answer."""
        return getattr(self._local, "snapshot", None)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """This thread's cursor on the current snapshot, pinned until the block ends."""
        handle = self._acquire(pin=True)
        try:
            cursors = self._thread_cursors()
            cursor = cursors.get(handle.serial)
            if cursor is None:
                cursors.clear()  # cursors of older snapshots close with their snapshot
                with self._lock:
                    cursor = handle.connection.cursor()
                    handle.cursors.append(cursor)
                cursors[handle.serial] = cursor
            self._local.snapshot = handle.snapshot
            yield cursor
        finally:
            self._release(handle)

    def close(self) -> None:
        """Close the current snapshot connection (for shutdown and tests)."""
        with self._lock:
            if self._open is not None:
                self._open.retired = True
                if self._open.users == 0:
                    self._open.close()
                self._open = None
                self._stamp = None

    def _thread_cursors(self) -> dict[int, Any]:
        cursors = getattr(self._local, "cursors", None)
        if cursors is None:
            cursors = self._local.cursors = {}
        return cursors

    def _pointer_stamp(self) -> tuple[int, int, int]:
        stamp = pointer_stamp(self.pointer)
        if stamp is None:
            raise ServingError(
                f"no published snapshot under {self.folder}: run `daybook build` or "
                "`daybook refresh` first"
            )
        return stamp

    def _acquire(self, *, pin: bool) -> _OpenSnapshot:
        stamp = self._pointer_stamp()
        with self._lock:
            if self._open is None or stamp != self._stamp:
                self._switch(stamp)
            assert self._open is not None
            if pin:
                self._open.users += 1
            return self._open

    def _switch(self, stamp: tuple[int, int, int]) -> None:
        """Open the snapshot the pointer names (called with the lock held)."""
        snapshot = _read_pointer(self.folder)
        if snapshot is None:
            raise ServingError(f"no published snapshot under {self.folder}")
        if self._open is not None and self._open.snapshot.id == snapshot.id:
            self._stamp = stamp
            return
        import duckdb

        try:
            connection = duckdb.connect(
                str(snapshot.path), read_only=True, config=self.duckdb_config
            )
        except duckdb.Error as error:
            raise ServingError(f"cannot open snapshot {snapshot.path.name}: {error}") from error
        previous, self._open, self._stamp = self._open, _OpenSnapshot(snapshot, connection), stamp
        if previous is not None:
            previous.retired = True
            if previous.users == 0:
                previous.close()
        log.info("serving snapshot %s", snapshot.id)

    def _release(self, handle: _OpenSnapshot) -> None:
        with self._lock:
            handle.users -= 1
            if handle.retired and handle.users == 0:
                handle.close()


def keep_pandas_out_of_duckdb() -> bool:
    """Stop DuckDB's Python client from importing pandas in an API worker; True if applied.

    The first query that binds a parameter makes the duckdb module import
    pandas (and with it numpy and pyarrow) only to ask whether each value is a
    pandas object: about 90 MB of resident memory per worker for nothing,
    since the API binds only strings and dates. Marking pandas as absent makes
    duckdb treat it as not installed. Call it once in a serving worker process
    (gunicorn ``post_fork``) before its first query, never in a process that
    uses pandas; it does nothing if pandas is already imported.
    """
    import sys

    if "pandas" in sys.modules:
        return False
    sys.modules["pandas"] = None  # type: ignore[assignment]
    return True


class SnapshotDataReader:
    """The API's ``Reader`` interface (``api.warehouse_reader``) on top of :class:`SnapshotReader`.

    Drop-in for a DuckDB warehouse: ``fetch_all(sql, parameters)`` runs on the
    current snapshot through this thread's cursor.
    """

    dialect = "duckdb"

    def __init__(self, warehouse: Warehouse, *, duckdb_config: dict[str, Any] | None = None):
        self.snapshots = SnapshotReader(warehouse, duckdb_config=duckdb_config)

    def fetch_all(self, sql: str, parameters: Any) -> list[tuple]:
        with self.snapshots.connection() as con:
            return con.execute(sql, parameters).fetchall()

    def data_version(self) -> str:
        """The id of the snapshot the next query will read (or a newer one)."""
        return self.snapshots.current_for_thread().id

    def close(self) -> None:
        self.snapshots.close()
