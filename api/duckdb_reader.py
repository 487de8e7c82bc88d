"""The API's DuckDB reads: the published snapshots (``daybook.serving``) only, never the
build file, so a build can write the warehouse file while the API serves. The reader
interface and the other backends are in :mod:`api.warehouse_reader`."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any

from api.reader_errors import NothingPublished
from daybook.config import Warehouse


class DuckDBReader:
    """DuckDB: the newest published snapshot, and nothing before the first one.

    The API never opens the build file: a process holding it, even read-only, keeps
    ``daybook load`` and ``daybook build`` out of it (DuckDB's lock), so serving a
    warehouse not yet built would lock out the very build it waits for. Until a build
    publishes a snapshot, data requests are answered 500 saying so and ``/readyz`` says
    not ready; the pointer is checked with one ``stat`` per request until then, so the
    first publish is served at once.
    """

    dialect = "duckdb"

    def __init__(self, warehouse: Warehouse) -> None:
        from daybook.serving import POINTER_NAME, serving_dir

        assert warehouse.duckdb_path is not None
        self._warehouse = warehouse
        self._pointer = serving_dir(warehouse) / POINTER_NAME
        self._lock = threading.Lock()
        self._snapshots: Any = None

    @property
    def serving_snapshots(self) -> bool:
        return self._snapshots is not None

    def _published(self) -> Any:
        """The snapshot reader, or None while nothing has been published."""
        if self._snapshots is None and self._pointer.exists():
            from daybook.serving import SnapshotDataReader

            with self._lock:
                if self._snapshots is None:
                    self._snapshots = SnapshotDataReader(self._warehouse)
        return self._snapshots

    def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[tuple]:
        snapshots = self._published()
        if snapshots is None:
            raise NothingPublished(
                "No data has been published yet: the API answers once `daybook build` "
                "has built and published the marts"
            )
        return snapshots.fetch_all(sql, parameters)

    def data_version(self) -> Hashable | None:
        """The published snapshot's id; None before the first one."""
        snapshots = self._published()
        return None if snapshots is None else snapshots.data_version()

    def close(self) -> None:
        if self._snapshots is not None:
            self._snapshots.close()
