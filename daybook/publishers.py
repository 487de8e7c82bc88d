"""How a build becomes what the API serves: one :class:`Publisher` per kind of serving store.

A build writes the warehouse; the API reads a serving store. Which store, and what
"publishing" to it means, depends on the backend, and is decided here alone
(:func:`publisher_for`):

* **DuckDB** (:class:`DuckDBSnapshotPublisher`): the API never opens the build file,
  so publishing writes a new snapshot file and moves the pointer
  (:func:`daybook.serving.publish_snapshot`).
* **PostgreSQL** (:class:`InPlacePublisher`): the API reads the built tables
  themselves; dbt's transactions already made them visible, so publishing does nothing.

A new serving store (a separate ``DAYBOOK_SERVING_URL`` every build publishes to, a
Spark warehouse) is a new :class:`Publisher` and one line in :func:`publisher_for`;
``publish`` receives the build's result, so a publisher can copy only the tables the
build rewrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from daybook.build.results import Built
from daybook.config import Warehouse


@dataclass(frozen=True)
class Publication:
    """What one publish made visible: a DuckDB snapshot's id, or the tables themselves."""

    description: str  # "DuckDB snapshot <id>", for people
    snapshot_id: str | None = None
    name: str | None = None  # the snapshot file's name


class Publisher(Protocol):
    """Makes a successful build visible to the API, atomically."""

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> Publication | None:
        """Publish what the warehouse holds now; None when nothing needs publishing.

        ``built`` is the build's result (its nodes name the models it rewrote)."""
        ...

    def serves(self, warehouse: Warehouse) -> bool:
        """Whether the API has something published to read (False before the first)."""
        ...

    def describe(self, warehouse: Warehouse) -> str:
        """What the API reads now, for people ("DuckDB snapshot <id>")."""
        ...


class DuckDBSnapshotPublisher:
    """DuckDB: the tables the API reads, copied into a new snapshot file (see daybook.serving)."""

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> Publication:
        from daybook.serving import publish_snapshot

        path = publish_snapshot(warehouse)
        snapshot_id = path.stem.removeprefix("snapshot-")
        return Publication(f"DuckDB snapshot {snapshot_id}", snapshot_id, path.name)

    def serves(self, warehouse: Warehouse) -> bool:
        from daybook.serving import current_snapshot

        return current_snapshot(warehouse) is not None

    def describe(self, warehouse: Warehouse) -> str:
        from daybook.serving import current_snapshot

        snapshot = current_snapshot(warehouse)
        return f"DuckDB snapshot {snapshot.id}" if snapshot else f"{warehouse.duckdb_path} directly"


class InPlacePublisher:
    """PostgreSQL: the API reads the built tables, so there is nothing to publish."""

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> None:
        return None

    def serves(self, warehouse: Warehouse) -> bool:
        return True

    def describe(self, warehouse: Warehouse) -> str:
        return "PostgreSQL tables"


PUBLISHERS: dict[str, Publisher] = {
    "duckdb": DuckDBSnapshotPublisher(),
    "postgres": InPlacePublisher(),
}


def publisher_for(warehouse: Warehouse) -> Publisher:
    """The publisher of this warehouse's builds (the one place that chooses it)."""
    return PUBLISHERS[warehouse.backend]
