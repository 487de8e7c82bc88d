"""How a build becomes what the API serves: one :class:`Publisher` per kind of serving store.

A build writes the warehouse; the API reads a serving store. Which store, and what
"publishing" to it means, depends on the backend, and is decided here alone
(:func:`publisher_for`):

* **DuckDB** (:class:`DuckDBSnapshotPublisher`): the API never opens the build file,
  so publishing writes a new snapshot file and moves the pointer
  (:func:`daybook.serving.publish_snapshot`).
* **PostgreSQL** (:class:`InPlacePublisher`): the API reads the built tables
  themselves; dbt's transactions already made them visible, so publishing does nothing.
* **Spark** (:class:`SparkSnapshotPublisher`): a rebuild drops and rewrites the tables,
  so publishing copies the served marts into a new Spark database and moves a pointer
  view to it (``serving/spark_snapshots.py``); the API reads there.
* **A separate serving store** (:class:`StorePublisher`, chosen whenever
  ``DAYBOOK_SERVING_URL`` is set, whatever the warehouse: DuckDB, PostgreSQL or Spark):
  the marts the API reads are copied into that PostgreSQL database (a fresh schema
  swapped in, or the changed rows in one transaction: ``serving/postgres_store.py``)
  or DuckDB file (a new snapshot and the pointer: ``serving/duckdb_store.py``).
  ``serving/store.py`` resolves and checks the URL.

``publish`` receives the build's result, so a publisher copies only the tables the build
rewrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from daybook.build.results import Built
from daybook.config import Warehouse
from daybook.serving.store import database_identity, separate_store


@dataclass(frozen=True)
class Publication:
    """What one publish made visible: a DuckDB snapshot's id, or the tables themselves."""

    description: str  # "DuckDB snapshot <id>", for people
    snapshot_id: str | None = None
    name: str | None = None  # the snapshot file's name


OWN_TARGET = "the warehouse's own"  # a backend's own publisher's target (not a store)


class Publisher(Protocol):
    """Makes a successful build visible to the API, atomically."""

    @property
    def target(self) -> str:
        """Which serving target this publishes to, as ``daybook.publication_record`` keys it."""
        ...

    @property
    def in_place(self) -> bool:
        """Whether the API reads the built tables themselves (nothing to publish, ever)."""
        ...

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

    target = OWN_TARGET
    in_place = False

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
        return f"DuckDB snapshot {snapshot.id}" if snapshot else "nothing yet (no snapshot)"


class InPlacePublisher:
    """PostgreSQL: the API reads the built tables, so there is nothing to publish."""

    target = OWN_TARGET
    in_place = True

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> None:
        return None

    def serves(self, warehouse: Warehouse) -> bool:
        return True

    def describe(self, warehouse: Warehouse) -> str:
        return "PostgreSQL tables"


@dataclass(frozen=True)
class StorePublisher:
    """A separate serving store (``DAYBOOK_SERVING_URL``): every build's serving marts are
    copied there, atomically, and the API reads them there."""

    store: Warehouse
    in_place: ClassVar[bool] = False

    @property
    def target(self) -> str:
        return f"store {database_identity(self.store)}"

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> Publication:
        if self.store.backend == "duckdb":
            from daybook.serving.duckdb_store import publish_duckdb_store

            path = publish_duckdb_store(warehouse, self.store, built)
            snapshot_id = path.stem.removeprefix("snapshot-")
            return Publication(
                f"DuckDB serving store snapshot {snapshot_id}", snapshot_id, path.name
            )
        from daybook.serving.postgres_store import publish_postgres_store

        done = publish_postgres_store(warehouse, self.store, built)
        how = "in full" if done.full else f"{len(done.tables)} changed table(s)"
        return Publication(
            f"PostgreSQL serving store publication {done.publication_id} ({how})",
            done.publication_id,
            f"{done.publication_id} in the PostgreSQL serving store ({how})",
        )

    def serves(self, warehouse: Warehouse) -> bool:
        if self.store.backend == "duckdb":
            from daybook.serving.pointer import current_snapshot

            return current_snapshot(self.store) is not None
        from daybook.serving.postgres_store import published

        return published(self.store) is not None

    def describe(self, warehouse: Warehouse) -> str:
        if self.store.backend == "duckdb":
            from daybook.serving.pointer import current_snapshot

            snapshot = current_snapshot(self.store)
            where = f"DuckDB serving store {self.store.duckdb_path}"
            return f"{where}, snapshot {snapshot.id}" if snapshot else f"{where} (nothing yet)"
        from daybook.serving.postgres_store import published

        found = published(self.store)
        where = f"PostgreSQL serving store {self.store.host}:{self.store.port}/{self.store.dbname}"
        return f"{where}, publication {found.publication_id}" if found else f"{where} (nothing yet)"


class SparkSnapshotPublisher:
    """Spark: the tables the API reads, copied into a new Spark database and the pointer view
    moved to it (``daybook.serving.spark_snapshots``), so a rebuild never breaks a reader."""

    target = OWN_TARGET
    in_place = False

    def publish(self, warehouse: Warehouse, built: Built | None = None) -> Publication:
        from daybook.serving.spark_snapshots import publish_spark_snapshot

        snapshot = publish_spark_snapshot(warehouse)
        return Publication(f"Spark snapshot {snapshot.id}", snapshot.id, snapshot.database)

    def serves(self, warehouse: Warehouse) -> bool:
        from daybook.serving.spark_snapshots import current_spark_snapshot

        return current_spark_snapshot(warehouse) is not None

    def describe(self, warehouse: Warehouse) -> str:
        from daybook.serving.spark_snapshots import current_spark_snapshot

        snapshot = current_spark_snapshot(warehouse)
        return f"Spark snapshot {snapshot.id}" if snapshot else "Spark (nothing published yet)"


PUBLISHERS: dict[str, Publisher] = {
    "duckdb": DuckDBSnapshotPublisher(),
    "postgres": InPlacePublisher(),
    "spark": SparkSnapshotPublisher(),
}


def publisher_for(warehouse: Warehouse) -> Publisher:
    """The publisher of this warehouse's builds (the one place that chooses it): the
    serving store's when ``DAYBOOK_SERVING_URL`` is set, else the backend's own."""
    store = separate_store(warehouse)
    if store is not None:
        return StorePublisher(store)
    return PUBLISHERS[warehouse.backend]
