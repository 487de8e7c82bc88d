"""Publishing DuckDB serving snapshots: a new file per build, switched by an atomic pointer."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daybook.config import Warehouse
from daybook.serving._util import (
    _as_utc,
    _columns,
    _duckdb_has,
    _iso,
    _naive_utc,
    _parse_iso,
    _postgres_has,
    _sql_string,
)
from daybook.warehouse import connect

log = logging.getLogger(__name__)

# The marts the API reads, each with the sort order that clusters one
# entity's days together (DuckDB zone maps then prune row groups per request).
SERVING_TABLES: dict[str, tuple[str, ...]] = {
    "dim_clients": ("client_id",),
    "dim_users": ("client_id", "user_id"),
    "dim_devices": ("client_id", "device_id"),
    "dim_dates": ("date_day",),
    "fct_activity_daily": ("client_id", "user_id", "activity_date", "device_id"),
    "fct_user_activity_daily": ("client_id", "user_id", "activity_date"),
    "fct_device_activity_daily": ("client_id", "device_id", "activity_date"),
}
# Where "the newest data included" is read from, first match wins: the
# deduplicated valid heartbeats the marts are built from, else the raw input.
# (The deduplicated model has an index on received_at_utc on PostgreSQL, so
# max() there is an index probe.)
FRESHNESS_SOURCES: tuple[tuple[str, str], ...] = (
    ("intermediate", "int_heartbeats_deduplicated"),
    ("intermediate", "int_heartbeats_validated"),
    ("raw", "heartbeats"),
)
SNAPSHOT_META_TABLE = "daybook_snapshot"
# A serving worker's DuckDB buffer pool: the API reads a few row groups per
# request, and an unbounded pool (DuckDB's default is 80% of RAM) would grow each
# worker toward the size of the hot data. Re-reading an evicted block comes from
# the OS page cache, which all workers share.
SERVING_MEMORY_ENV = "DAYBOOK_DUCKDB_SERVING_MEMORY"
DEFAULT_SERVING_MEMORY = "100MB"
# DuckDB worker threads per serving process (default: DuckDB's, one per core).
SERVING_THREADS_ENV = "DAYBOOK_DUCKDB_SERVING_THREADS"
POINTER_NAME = "CURRENT.json"
KEEP_SNAPSHOTS = 3
GRACE_SECONDS = 120.0


class ServingError(RuntimeError):
    """A snapshot cannot be published or read; the message says which and why."""


@dataclass(frozen=True)
class Snapshot:
    """One published, immutable copy of the serving tables (DuckDB only)."""

    id: str
    path: Path
    newest_received_at: datetime | None
    built_at: datetime
    generation: int = 0  # publishes since the last full copy

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.path.name,
            "newest_received_at": _iso(self.newest_received_at),
            "built_at": _iso(self.built_at),
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, folder: Path, data: dict[str, Any]) -> Snapshot:
        return cls(
            id=data["id"],
            path=folder / data["file"],
            newest_received_at=_parse_iso(data.get("newest_received_at")),
            built_at=_parse_iso(data["built_at"]) or datetime.now(UTC),
            generation=int(data.get("generation") or 0),
        )


def serving_dir(warehouse: Warehouse) -> Path:
    """The folder holding a DuckDB warehouse's snapshots and their pointer."""
    return warehouse.state_dir / "serving"


def publish_snapshot(
    warehouse: Warehouse,
    *,
    newest_received_at: datetime | None = None,
    keep: int = KEEP_SNAPSHOTS,
    grace_seconds: float = GRACE_SECONDS,
    full: bool = False,
) -> Path:
    """Copy the serving tables of a built DuckDB warehouse into a new file and switch to it.

    Call it in the process that just built (it opens the build database for
    writing). Returns the new snapshot file; readers switch on their next request.

    Incremental by default, so its cost follows the new data: the previous
    snapshot file is copied, and each incremental mart (a dbt ``unique_key``
    and a ``refreshed_at_utc`` column) gets only the keys dbt rewrote since
    that snapshot (delete + insert, as dbt did); table models are copied
    whole (they are small). A full, freshly sorted copy is made on the first
    publish, every ``FULL_EVERY`` publishes (to restore clustering and drop
    deleted rows), when ``full`` is set, and for any table whose row count
    would not match afterwards. ``newest_received_at`` overrides the freshness
    read from the build database.
    """
    if warehouse.backend != "duckdb":
        raise ServingError("snapshots are only needed on DuckDB; PostgreSQL serves its tables")

    folder = serving_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    built_at = datetime.now(UTC)
    snapshot_id = f"{built_at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
    final = folder / f"snapshot-{snapshot_id}.duckdb"
    partial = folder / f"snapshot-{snapshot_id}.duckdb.partial"
    assert warehouse.duckdb_path is not None
    previous = None if full else current_snapshot(warehouse)
    con = connect(warehouse)
    try:
        missing = [name for name in SERVING_TABLES if not _duckdb_has(con, "main", name)]
        if missing:
            raise ServingError(
                f"cannot publish {warehouse.duckdb_path}: tables {', '.join(missing)} are "
                "missing; run `daybook build` first"
            )
        if newest_received_at is None:
            newest_received_at = newest_included(con, "duckdb")
        generation = _start_from(previous, partial)
        keys = _incremental_keys(warehouse) if generation else {}
        con.execute(f"attach '{_sql_string(partial)}' as {_TARGET}")
        try:
            for name, order in SERVING_TABLES.items():
                _publish_table(con, name, order, keys.get(name) if generation else None)
            con.execute(f"drop table if exists {_TARGET}.main.{SNAPSHOT_META_TABLE}")
            con.execute(
                f"create table {_TARGET}.main.{SNAPSHOT_META_TABLE} as "
                "select ?::varchar as snapshot_id, ?::timestamp as newest_received_at_utc, "
                "?::timestamp as built_at_utc, ?::integer as generation",
                [snapshot_id, _naive_utc(newest_received_at), _naive_utc(built_at), generation],
            )
        finally:
            con.execute(f"detach {_TARGET}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(partial, final)
    snapshot = Snapshot(snapshot_id, final, newest_received_at, built_at, generation)
    _write_pointer(folder, snapshot)
    collect_garbage(warehouse, keep=keep, grace_seconds=grace_seconds)
    return final


_TARGET = "daybook_snapshot_target"
FULL_EVERY = 48  # at one publish per five minutes: a fresh, fully sorted copy every 4 hours
REFRESHED_COLUMN = "refreshed_at_utc"


def _start_from(previous: Snapshot | None, partial: Path) -> int:
    """Copy the previous snapshot file to ``partial`` and return this publish's generation
    (0: build a full copy from nothing)."""
    if previous is None or not previous.path.exists():
        return 0
    generation = previous.generation + 1
    if generation >= FULL_EVERY:
        return 0
    shutil.copyfile(previous.path, partial)
    return generation


def _incremental_keys(warehouse: Warehouse) -> dict[str, list[str]]:
    """dbt ``unique_key`` of each incremental serving model, from the build's manifest."""
    from daybook.dbt_paths import manifest_path

    path = manifest_path(warehouse)
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"]
    except (FileNotFoundError, KeyError, ValueError):
        return {}
    keys = {}
    for node in nodes.values():
        config = node.get("config") or {}
        if node.get("resource_type") != "model" or node.get("name") not in SERVING_TABLES:
            continue
        if config.get("materialized") != "incremental" or not config.get("unique_key"):
            continue
        unique_key = config["unique_key"]
        keys[node["name"]] = [unique_key] if isinstance(unique_key, str) else list(unique_key)
    return keys


def _publish_table(con: Any, name: str, order: tuple[str, ...], key: list[str] | None) -> None:
    """Bring ``<target>.main.<name>`` up to date with the build's ``main.<name>``."""
    columns = _columns(con, "main", name)
    order_by = ", ".join(column for column in order if column in columns)
    order_sql = f" order by {order_by}" if order_by else ""
    source_order = ", ".join(f"source.{column}" for column in order if column in columns)
    target = f"{_TARGET}.main.{name}"
    incremental = (
        key is not None
        and REFRESHED_COLUMN in columns
        and set(key) <= set(columns)
        and _columns(con, _TARGET, name) == columns
    )
    if incremental:
        assert key is not None
        matches = " and ".join(f"{target}.{column} = changed.{column}" for column in key)
        con.execute(
            f"create or replace temp table daybook_changed_keys as "
            f"select distinct {', '.join(key)} from main.{name} "
            f"where {REFRESHED_COLUMN} > (select coalesce(max({REFRESHED_COLUMN}), "
            f"'-infinity'::timestamp) from {target})"
        )
        con.execute(f"delete from {target} using daybook_changed_keys as changed where {matches}")
        con.execute(
            f"insert into {target} select source.* from main.{name} as source "
            f"join daybook_changed_keys as changed on {matches.replace(target, 'source')}"
            + (f" order by {source_order}" if source_order else "")
        )
        con.execute("drop table daybook_changed_keys")
        build_rows, served_rows = con.execute(
            f"select (select count(*) from main.{name}), (select count(*) from {target})"
        ).fetchone()
        if build_rows == served_rows:
            return
        log.warning(
            "snapshot table %s drifted (%s vs %s rows); copying it whole",
            name,
            served_rows,
            build_rows,
        )
    con.execute(f"create or replace table {target} as select * from main.{name}{order_sql}")


def current_snapshot(warehouse: Warehouse) -> Snapshot | None:
    """The snapshot the pointer names now, or None before the first publish."""
    return _read_pointer(serving_dir(warehouse))


def collect_garbage(
    warehouse: Warehouse, *, keep: int = KEEP_SNAPSHOTS, grace_seconds: float = GRACE_SECONDS
) -> list[Path]:
    """Delete snapshot files beyond the newest ``keep`` once they are older than the grace.

    The grace covers a reader that read the old pointer but has not opened the
    file yet; readers that already hold a file open keep it until they close.
    """
    folder = serving_dir(warehouse)
    current = current_snapshot(warehouse)
    files = sorted(folder.glob("snapshot-*.duckdb*"), key=lambda path: path.name, reverse=True)
    finished = [path for path in files if path.suffix == ".duckdb"]
    keep_names = {path.name for path in finished[:keep]}
    if current is not None:
        keep_names.add(current.path.name)
    removed = []
    now = time.time()
    for path in files:
        if path.name in keep_names:
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime >= grace_seconds:
                path.unlink()
                removed.append(path)
    return removed


def _write_pointer(folder: Path, snapshot: Snapshot) -> None:
    pointer = folder / POINTER_NAME
    temporary = folder / f".{POINTER_NAME}.{os.getpid()}.{secrets.token_hex(3)}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(snapshot.to_json(), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, pointer)


def _read_pointer(folder: Path) -> Snapshot | None:
    try:
        data = json.loads((folder / POINTER_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Snapshot.from_json(folder, data)


def pointer_stamp(pointer: Path) -> tuple[int, int, int] | None:
    """What changes when the pointer file is replaced (inode, mtime, size); None if absent.

    One ``os.stat``: cheap enough to check on every request.
    """
    try:
        status = os.stat(pointer)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def newest_included(
    con: Any, backend: str, sources: tuple[tuple[str, str], ...] = FRESHNESS_SOURCES
) -> datetime | None:
    """Max ``received_at_utc`` of the heartbeats a built warehouse includes, from ``con``
    (the first of ``sources`` that exists)."""
    for schema, table in sources:
        if backend == "duckdb":
            exists = _duckdb_has(con, schema, table)
        else:
            exists = _postgres_has(con, schema, table)
        if not exists:
            continue
        cursor = con.cursor()
        cursor.execute(f'select max(received_at_utc) from "{schema}"."{table}"')
        row = cursor.fetchone()
        return _as_utc(row[0]) if row and row[0] is not None else None
    return None
