"""Publishing the API's marts into a separate DuckDB serving store: a new snapshot file.

A DuckDB store (``DAYBOOK_SERVING_URL=duckdb:///path/serving.duckdb``) is served the way a
DuckDB warehouse is: immutable snapshot files under ``<store>.state/serving/`` and an
atomic pointer (``pointer.py``), which the API's reader follows per request. Readers
therefore see one whole snapshot, old or new.

From a DuckDB warehouse the file is written by :func:`~daybook.serving.snapshots.
publish_snapshot` (DuckDB copies between attached files itself). From PostgreSQL or
Spark, this module fills it: DuckDB scans the source's Arrow stream
(:mod:`daybook.serving.source`) batch by batch, sorting under its own memory limit
(spilling beside the file), so Python never holds a table. Incremental as the DuckDB
snapshots are: the previous snapshot file is copied and each incremental mart receives
only the keys rewritten since its newest ``refreshed_at_utc``; the small table models
are copied whole; a table whose row count then differs from the warehouse's is copied
whole; every ``FULL_EVERY``-th publish is a full, freshly sorted copy.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from daybook.build.results import Built
from daybook.config import Warehouse
from daybook.serving._util import _naive_utc
from daybook.serving.plan import (
    REFRESHED_COLUMN,
    incremental_keys,
    rewritten_tables,
    rows_of_keys_refreshed_since,
)
from daybook.serving.pointer import (
    Snapshot,
    _write_pointer,
    collect_garbage,
    current_snapshot,
    new_snapshot_files,
    serving_dir,
)
from daybook.serving.snapshots import (
    SNAPSHOT_META_TABLE,
    _start_from,
    log_count_mismatch,
    publish_snapshot,
    serving_tables,
)
from daybook.serving.source import Source, check_tables, newest_in_source, open_source

log = logging.getLogger(__name__)

PUBLISH_MEMORY = os.environ.get("DAYBOOK_DUCKDB_PUBLISH_MEMORY", "1GB")


def publish_duckdb_store(
    warehouse: Warehouse, store: Warehouse, built: Built | None = None, *, full: bool = False
) -> Path:
    """Publish ``warehouse``'s serving marts as a new snapshot of the DuckDB ``store``."""
    if warehouse.backend == "duckdb":
        return publish_snapshot(warehouse, store=store, full=full)
    import duckdb

    tables = serving_tables()
    folder = serving_dir(store)
    snapshot_id, built_at, final, partial = new_snapshot_files(store)
    previous = None if full else current_snapshot(store)
    try:
        with open_source(warehouse) as source:
            check_tables(source, tables)
            newest = newest_in_source(source)
            generation = _start_from(previous, partial)
            keys = incremental_keys(warehouse, tables) if generation else {}
            rewritten = rewritten_tables(built, tables) if generation else None
            target = duckdb.connect(
                str(partial),
                config={"memory_limit": PUBLISH_MEMORY, "temp_directory": f"{partial}.tmp"},
            )
            try:
                for name, order in tables.items():
                    if rewritten is not None and name not in rewritten:
                        continue
                    _fill(target, source, name, order, keys.get(name))
                target.execute(f"drop table if exists {SNAPSHOT_META_TABLE}")
                target.execute(
                    f"create table {SNAPSHOT_META_TABLE} as select ?::varchar as snapshot_id, "
                    "?::timestamp as newest_received_at_utc, ?::timestamp as built_at_utc, "
                    "?::integer as generation",
                    [snapshot_id, _naive_utc(newest), _naive_utc(built_at), generation],
                )
                target.execute("checkpoint")
            finally:
                target.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    _write_pointer(folder, Snapshot(snapshot_id, final, newest, built_at, generation))
    collect_garbage(store)
    return final


def _fill(
    target: Any, source: Source, name: str, order: tuple[str, ...], key: list[str] | None
) -> None:
    """Bring the snapshot's ``name`` up to date with the warehouse's."""
    columns = source.columns(name)
    order_sql = ", ".join(column for column in order if column in columns)
    sort = f" order by {order_sql}" if order_sql and source.warehouse.backend == "spark" else ""
    incremental = key and REFRESHED_COLUMN in columns and set(key) <= set(columns)
    if incremental and _target_columns(target, name) == columns:
        assert key is not None
        if _apply_changes(target, source, name, key):
            served = target.execute(f"select count(*) from {name}").fetchone()[0]
            built = source.scalar(f"select count(*) from {name}")
            if served == built:
                return
            log_count_mismatch(log, f"serving store table {name}", served, built)
    reader = source.table_batches(name, order)
    target.register("daybook_source", reader)
    try:
        target.execute(f"create or replace table {name} as select * from daybook_source{sort}")
    finally:
        target.unregister("daybook_source")


def _apply_changes(target: Any, source: Source, name: str, key: list[str]) -> bool:
    watermark = target.execute(f"select max({REFRESHED_COLUMN}) from {name}").fetchone()[0]
    if watermark is None:
        return False
    key_list = ", ".join(key)
    where = rows_of_keys_refreshed_since(name, key, source.placeholder)
    target.register("daybook_source", source.table_batches(name, (), where, [watermark]))
    try:
        target.execute("create or replace temp table daybook_changed as from daybook_source")
    finally:
        target.unregister("daybook_source")
    matches = " and ".join(f"{name}.{column} = changed.{column}" for column in key)
    target.execute(
        f"delete from {name} using (select distinct {key_list} from daybook_changed) as changed "
        f"where {matches}"
    )
    target.execute(f"insert into {name} by name select * from daybook_changed")
    target.execute("drop table daybook_changed")
    return True


def _target_columns(target: Any, name: str) -> list[str]:
    rows = target.execute(
        "select column_name from information_schema.columns where table_name = ? "
        "and table_schema = 'main' order by ordinal_position",
        [name],
    ).fetchall()
    return [row[0] for row in rows]


def served_snapshot(store: Warehouse) -> Snapshot | None:
    """The store's current snapshot (None before the first publish)."""
    return current_snapshot(store)
