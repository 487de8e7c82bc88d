"""The API's DuckDB reads: a read-only file connection per process, moved onto the
published snapshots (``daybook.serving``) as soon as the first one appears, so a build
can write the warehouse file while the API serves. The reader interface and the other
backends are in :mod:`api.warehouse_reader`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Hashable, Sequence
from typing import Any

from daybook.config import Warehouse


class DuckDBFileReader:
    """One read-only connection to a DuckDB file per process, a cursor per thread.

    ``retire()`` closes it once the queries in flight have finished, so a
    process can move to snapshots without failing a request.
    """

    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection: Any = None
        self._cursors: list[Any] = []
        self._local = threading.local()
        self._busy = 0
        self._retired = False
        self._version = f"file:{uuid.uuid4().hex}"

    def _cursor(self) -> Any:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            if self._connection is None:
                import duckdb

                self._connection = duckdb.connect(self._path, read_only=True)
            cursor = self._connection.cursor()
            self._cursors.append(cursor)
            self._local.cursor = cursor
        return cursor

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        with self._lock:
            if self._retired:
                raise RuntimeError(f"{self._path} is no longer served")
            self._busy += 1
            cursor = self._cursor()
        try:
            return cursor.execute(sql, parameters).fetchall()
        finally:
            with self._lock:
                self._busy -= 1
                if self._retired and self._busy == 0:
                    self._close_now()

    def data_version(self) -> Hashable | None:
        """Constant for this reader: from its first query to ``retire()`` it holds the file
        open read-only, which DuckDB's lock keeps any writer out of, so the data it can
        serve never changes."""
        return self._version

    def retire(self) -> None:
        """Stop taking queries; close when the last one in flight ends."""
        with self._lock:
            self._retired = True
            if self._busy == 0:
                self._close_now()

    def close(self) -> None:
        self.retire()

    def _close_now(self) -> None:  # called with the lock held
        for cursor in self._cursors:
            cursor.close()
        self._cursors.clear()
        self._local = threading.local()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class DuckDBReader:
    """DuckDB: the newest published snapshot when there is one, else the warehouse file.

    ``daybook refresh`` publishes snapshots (``daybook.serving``) so that a build
    can write the warehouse file while the API serves; readers then never hold
    the build file. Before the first snapshot the file itself is read
    (read-only), and the reader moves to snapshots as soon as one appears
    (checked with one ``stat`` per query until then).
    """

    dialect = "duckdb"

    def __init__(self, warehouse: Warehouse) -> None:
        from daybook.serving import POINTER_NAME, serving_dir

        assert warehouse.duckdb_path is not None
        self._warehouse = warehouse
        self._pointer = serving_dir(warehouse) / POINTER_NAME
        self._lock = threading.Lock()
        self._file = DuckDBFileReader(str(warehouse.duckdb_path))
        self._snapshots: Any = None

    @property
    def serving_snapshots(self) -> bool:
        return self._snapshots is not None

    def _target(self) -> Any:
        if self._snapshots is None and self._pointer.exists():
            from daybook.serving import SnapshotDataReader

            with self._lock:
                if self._snapshots is None:
                    self._snapshots = SnapshotDataReader(self._warehouse)
                    self._file.retire()
        return self._snapshots or self._file

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        return self._target().fetch_all(sql, parameters)

    def data_version(self) -> Hashable | None:
        """The published snapshot's id, or before the first snapshot the file reader's."""
        return self._target().data_version()

    def close(self) -> None:
        self._file.close()
        if self._snapshots is not None:
            self._snapshots.close()
