"""Serving straight from a Spark warehouse: each publish copies the API's marts into a new
Spark database, and a view names the current one.

Why copies: dbt on Spark drops and recreates table models and overwrites partitions of
incremental ones, and a reader of the built tables meanwhile fails with
``TABLE_OR_VIEW_NOT_FOUND`` or ``FILE_NOT_EXIST`` (measured here: 38 errors in 86 reads
during one plain rebuild). So the API never reads the built tables. Every ``daybook
build`` / ``refresh`` (``daybook.publishers.SparkSnapshotPublisher``) writes the serving
marts into a fresh database ``daybook_snapshot_<id>`` (``CREATE TABLE ... AS SELECT``,
sorted so one entity's days sit together in the parquet files), then alters the view
``daybook_serving.current_snapshot`` (one metastore operation) to name it, and rewrites
a local hint file (:func:`publish_hint_path`). Readers (``daybook.serving.spark_reader``)
look the view up and read the database it names: the old snapshot, whole, or the new one,
whole. The newest ``KEEP_SNAPSHOTS`` snapshots stay, so a reader still on the previous one
finishes its query.

The copy costs a read and a write of the serving marts per publish (not of the
heartbeats); at cluster scale a separate serving store (``DAYBOOK_SERVING_URL``) is the
faster way to serve (docs/SCALING.md).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse
from daybook.serving._util import _as_utc
from daybook.serving.pointer import ServingError
from daybook.spark.literals import timestamp_literal

POINTER_DATABASE = "daybook_serving"
POINTER_VIEW = f"{POINTER_DATABASE}.current_snapshot"
SNAPSHOT_PREFIX = "daybook_snapshot_"
KEEP_SNAPSHOTS = 3
_SNAPSHOT_NAME = re.compile(rf"^{SNAPSHOT_PREFIX}[0-9a-z_]+$")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkSnapshot:
    """One published copy of the serving marts in its own Spark database."""

    id: str
    database: str
    newest_received_at: datetime | None
    published_at: datetime


def read_pointer(con: Any) -> SparkSnapshot | None:
    """The snapshot the pointer view names, or None before the first publish.

    ``con`` is a DB-API connection to the Spark warehouse (``daybook.spark.dbapi``)."""
    try:
        cursor = con.cursor()
        cursor.execute(
            "select snapshot_id, database_name, newest_received_at_utc, published_at_utc "
            f"from {POINTER_VIEW}"
        )
        row = cursor.fetchone()
    except Exception as error:
        if _is_missing(error):
            return None
        raise
    if row is None:
        return None
    database = str(row[1])
    if not _SNAPSHOT_NAME.fullmatch(database):  # it is spliced into `use`: never trust it blindly
        raise ServingError(f"{POINTER_VIEW} names {database!r}, which is not a Daybook snapshot")
    newest = _as_utc(row[2]) if row[2] is not None else None
    published = _as_utc(row[3]) if row[3] is not None else _now()
    return SparkSnapshot(str(row[0]), database, newest, published)


def publish_spark_snapshot(
    warehouse: Warehouse,
    *,
    tables: dict[str, tuple[str, ...]] | None = None,
    keep: int = KEEP_SNAPSHOTS,
) -> SparkSnapshot:
    """Copy the serving marts of a built Spark warehouse into a new database and point the
    view at it; returns the new snapshot. Nothing is switched if any copy fails."""
    from daybook.serving.snapshots import serving_tables
    from daybook.serving.source import check_tables, newest_in_source, open_source

    if warehouse.backend != "spark":
        raise ServingError("Spark snapshots are for sc:// warehouses")
    tables = dict(tables) if tables is not None else serving_tables()
    published_at = _now()
    snapshot_id = f"{published_at:%Y%m%dt%H%M%S%f}_{secrets.token_hex(3)}"
    database = f"{SNAPSHOT_PREFIX}{snapshot_id}"
    with open_source(warehouse) as source:
        check_tables(source, tables)
        newest = newest_in_source(source)
        con = source.con
        con.execute(f"create database {database}")
        try:
            for name, order in tables.items():
                sort = f" order by {', '.join(order)}" if order else ""
                con.execute(
                    f"create table {database}.{name} using parquet as select * from {name}{sort}"
                )
            pointer = (
                f"select '{snapshot_id}' as snapshot_id, '{database}' as database_name, "
                f"{timestamp_literal(newest, 'timestamp')} as newest_received_at_utc, "
                f"{timestamp_literal(published_at, 'timestamp')} as published_at_utc"
            )
            con.execute(f"create database if not exists {POINTER_DATABASE}")
            # `create or replace view` drops, then creates (a reader in between finds no
            # view); `alter view ... as` changes the existing view in one metastore call
            con.execute(f"create view if not exists {POINTER_VIEW} as {pointer}")
            con.execute(f"alter view {POINTER_VIEW} as {pointer}")
        except BaseException:
            _drop(con, database)
            raise
        _leave_hint(warehouse, snapshot_id)
        collect_garbage(con, keep=keep)
    return SparkSnapshot(snapshot_id, database, newest, published_at)


def publish_hint_path(warehouse: Warehouse) -> Path:
    """The local file each publish rewrites after moving the view: an API on this machine
    (the same state folder) stats it at every request and looks the view up as soon as it
    changes, instead of up to ``POINTER_TTL_SECONDS`` later (``spark_reader``)."""
    return warehouse.state_dir / "spark-snapshot.json"


def _leave_hint(warehouse: Warehouse, snapshot_id: str) -> None:
    """Rewrite :func:`publish_hint_path`; the view has moved already, so a hint that cannot
    be written costs readers only their look-up interval, not the publish."""
    try:
        write_json_atomically(publish_hint_path(warehouse), {"snapshot_id": snapshot_id})
    except OSError as error:
        log.warning("published %s; cannot leave the local hint for readers: %s", snapshot_id, error)


def current_spark_snapshot(warehouse: Warehouse) -> SparkSnapshot | None:
    """The published snapshot the API reads now (one short Spark query)."""
    from daybook.warehouse import connect

    with connect(warehouse) as con:
        return read_pointer(con)


def collect_garbage(con: Any, *, keep: int = KEEP_SNAPSHOTS) -> list[str]:
    """Drop all but the newest ``keep`` snapshot databases (never the current one)."""
    current = read_pointer(con)
    cursor = con.cursor()
    cursor.execute(f"show databases like '{SNAPSHOT_PREFIX}*'")
    names = sorted(str(row[0]) for row in cursor.fetchall())  # ids sort by publish time
    old = [name for name in names[: max(0, len(names) - keep)] if _SNAPSHOT_NAME.fullmatch(name)]
    dropped = []
    for name in old:
        if current is not None and name == current.database:
            continue
        _drop(con, name)
        dropped.append(name)
    return dropped


def _drop(con: Any, database: str) -> None:
    with contextlib.suppress(Exception):  # best effort: the next publish's collection retries
        con.execute(f"drop database if exists {database} cascade")


def _is_missing(error: BaseException) -> bool:
    text = str(error)
    return "TABLE_OR_VIEW_NOT_FOUND" in text or "SCHEMA_NOT_FOUND" in text


def _now() -> datetime:
    return datetime.now(UTC)
