"""Publishing DuckDB serving snapshots: a new file per build, switched by an atomic pointer.

Which tables are published, and the order each is sorted in, is not written
here: :func:`serving_tables` derives both from the semantic registry
(``semantic/entities.yml``, :class:`daybook.semantic.registry.Registry`), so a new
entity's marts are served, and a renamed mart is published under its new name,
with no Python change. The files and the pointer are ``pointer.py``'s.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from daybook.config import Warehouse
from daybook.dbt_artifacts import DbtArtifacts, ManifestError
from daybook.serving._util import _columns, _duckdb_has, _naive_utc, _sql_string
from daybook.serving.freshness import newest_included
from daybook.serving.pointer import (
    GRACE_SECONDS,
    KEEP_SNAPSHOTS,
    ServingError,
    Snapshot,
    _read_pointer,
    _write_pointer,
    collect_garbage,
    current_snapshot,
    new_snapshot_files,
    serving_dir,
)
from daybook.warehouse import connect

log = logging.getLogger(__name__)

SNAPSHOT_META_TABLE = "daybook_snapshot"
_TARGET = "daybook_snapshot_target"
FULL_EVERY = 48  # at one publish per five minutes: a fresh, fully sorted copy every 4 hours
REFRESHED_COLUMN = "refreshed_at_utc"

__all__ = [  # current_snapshot and _read_pointer: importable from here as before the split
    "FULL_EVERY",
    "REFRESHED_COLUMN",
    "SNAPSHOT_META_TABLE",
    "_read_pointer",
    "current_snapshot",
    "publish_snapshot",
    "serving_tables",
]


def serving_tables() -> dict[str, tuple[str, ...]]:
    """The marts the API reads, each with the sort order that clusters one entity's days
    together (DuckDB zone maps then prune row groups per request): the registry's
    :meth:`~daybook.semantic.registry.Registry.serving_tables`.

    The registry is not checked against a dbt manifest here: publishing checks the
    build database itself (every table must exist).
    """
    from daybook.semantic.loader import load_registry

    return load_registry(check_manifest=False).serving_tables()


def __getattr__(name: str) -> Any:
    """``SERVING_TABLES``: the registry's serving tables, read when asked for (kept for callers
    of the constant this was before the registry)."""
    if name == "SERVING_TABLES":
        return serving_tables()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def publish_snapshot(
    warehouse: Warehouse,
    *,
    newest_received_at: datetime | None = None,
    keep: int = KEEP_SNAPSHOTS,
    grace_seconds: float = GRACE_SECONDS,
    full: bool = False,
    tables: Mapping[str, tuple[str, ...]] | None = None,
    store: Warehouse | None = None,
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
    read from the build database. ``tables`` (mart -> sort order) defaults to
    :func:`serving_tables`. ``store``: a separate DuckDB serving store
    (``DAYBOOK_SERVING_URL``) whose snapshot folder receives the file, instead of the
    warehouse's own.
    """
    if warehouse.backend != "duckdb":
        raise ServingError("snapshots are only needed on DuckDB; PostgreSQL serves its tables")

    served = store or warehouse
    folder = serving_dir(served)
    snapshot_id, built_at, final, partial = new_snapshot_files(served)
    assert warehouse.duckdb_path is not None
    previous = None if full else current_snapshot(served)
    tables = dict(tables) if tables is not None else serving_tables()
    con = connect(warehouse)
    try:
        missing = [name for name in tables if not _duckdb_has(con, "main", name)]
        if missing:
            raise ServingError(
                f"cannot publish {warehouse.duckdb_path}: tables {', '.join(missing)} are "
                "missing; run `daybook build` first"
            )
        if newest_received_at is None:
            newest_received_at = newest_included(con, "duckdb")
        generation = _start_from(previous, partial)
        keys = _incremental_keys(warehouse, tables) if generation else {}
        con.execute(f"attach '{_sql_string(partial)}' as {_TARGET}")
        try:
            for name, order in tables.items():
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
    collect_garbage(served, keep=keep, grace_seconds=grace_seconds)
    return final


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


def _incremental_keys(
    warehouse: Warehouse, tables: Collection[str] | None = None
) -> dict[str, list[str]]:
    """dbt ``unique_key`` of each incremental serving model, from the build's manifest
    (none without a readable manifest: every table is then copied whole)."""
    names = set(tables if tables is not None else serving_tables())
    try:
        return DbtArtifacts.of(warehouse).manifest().incremental_keys(names)
    except ManifestError:
        return {}


def log_count_mismatch(logger: logging.Logger, what: str, served: int, built: int) -> None:
    """Say why a changes-only publish falls back to a whole copy. More rows served than
    built is expected: rows the build removed (days a client's new time zone moved, say)
    are not among the changed keys, so the copy kept them. Fewer is not: a warning."""
    if served > built:
        logger.info("%s: the build removed rows; copying it whole", what)
    else:
        logger.warning("%s: %s rows served, %s built; copying it whole", what, served, built)


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
        log_count_mismatch(log, f"snapshot table {name}", served_rows, build_rows)
    con.execute(f"create or replace table {target} as select * from main.{name}{order_sql}")
