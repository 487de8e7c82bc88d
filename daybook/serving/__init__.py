"""Serving answers from a warehouse that is being refreshed underneath the API.

Why this module exists: the API must keep answering while ``daybook refresh``
rebuilds the marts, and every answer must come wholly from before or wholly
from after a refresh, never from a half-built table.

* **PostgreSQL** needs nothing extra. dbt builds a table model as
  ``<model>__dbt_tmp`` and swaps it in with two renames inside one
  transaction; incremental models change inside one transaction too. A
  reader's statement sees the committed catalogue and rows of one moment (a
  statement that meets the swap waits on the rename's lock and then reads the
  new table), so each query reads one table wholly before or wholly after.
* **DuckDB** allows one writer process per file and then refuses every other
  process, read-only ones included. So the API never opens the build database.
  After each successful build, :func:`publish_snapshot` writes the tables the
  API reads into a *new* file under ``<state_dir>/serving/``, sorted by
  (client, entity, day) so DuckDB's zone maps skip most row groups, and then
  replaces a small JSON pointer file atomically (write a temporary file, then
  ``os.replace``). The new file starts as a copy of the previous snapshot and
  receives only the rows dbt rewrote since (so a refresh's cost follows the
  new data); a full sorted copy is made periodically. :class:`SnapshotReader`
  checks the pointer with one ``os.stat`` per request, opens the new file
  read-only when it changed, and keeps the old connection until its last
  in-flight query ends. Old files are
  removed after a grace period, keeping the newest few; a process that still
  has one open keeps reading it (POSIX unlink semantics).

Modules, one job each: ``pointer`` (the snapshot files and the pointer),
``snapshots`` (publishing, with the tables and sort orders taken from the
semantic registry), ``reader`` (reading the current snapshot), ``freshness``
and ``http``. A separate serving store (``DAYBOOK_SERVING_URL``): ``store`` (which
database the API reads), ``source`` (the warehouse's marts as Arrow batches), ``plan``
(indexes, keys, rewritten tables), ``postgres_store`` and ``duckdb_store`` (publishing
into each kind, atomically).

The package also answers "how fresh is this?" (:func:`freshness`) on both
backends and sets the HTTP caching headers (:func:`install_http_caching`).
"""

from __future__ import annotations

from typing import Any

from daybook.serving.freshness import (
    FRESHNESS_SOURCES,
    freshness,
    newest_included,
)
from daybook.serving.http import DEFAULT_MAX_AGE, cache_headers, install_http_caching
from daybook.serving.pointer import (
    GRACE_SECONDS,
    KEEP_SNAPSHOTS,
    POINTER_NAME,
    ServingError,
    Snapshot,
    collect_garbage,
    current_snapshot,
    serving_dir,
)
from daybook.serving.reader import (
    DEFAULT_SERVING_MEMORY,
    SERVING_MEMORY_ENV,
    SERVING_THREADS_ENV,
    SnapshotDataReader,
    SnapshotReader,
    keep_pandas_out_of_duckdb,
)
from daybook.serving.snapshots import (
    FULL_EVERY,
    REFRESHED_COLUMN,
    SNAPSHOT_META_TABLE,
    publish_snapshot,
    serving_tables,
)


def __getattr__(name: str) -> Any:
    """``SERVING_TABLES``: derived from the semantic registry when asked for
    (:func:`serving_tables`), not a constant."""
    if name == "SERVING_TABLES":
        return serving_tables()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_SERVING_MEMORY",
    "FRESHNESS_SOURCES",
    "FULL_EVERY",
    "GRACE_SECONDS",
    "KEEP_SNAPSHOTS",
    "POINTER_NAME",
    "REFRESHED_COLUMN",
    "SERVING_MEMORY_ENV",
    "SERVING_TABLES",
    "SERVING_THREADS_ENV",
    "SNAPSHOT_META_TABLE",
    "ServingError",
    "Snapshot",
    "SnapshotDataReader",
    "SnapshotReader",
    "cache_headers",
    "collect_garbage",
    "current_snapshot",
    "freshness",
    "install_http_caching",
    "keep_pandas_out_of_duckdb",
    "newest_included",
    "publish_snapshot",
    "serving_dir",
    "serving_tables",
]
