"""Publishing the API's marts into a separate PostgreSQL serving store, atomically.

The store's ``public`` schema holds the served marts under their own names (so the API's
compiled SQL and a BI tool read them unqualified, as on a PostgreSQL warehouse), with
``daybook_meta.build_marker`` (the API's data version) and
``daybook_auth.api_tokens`` (the tokens) beside them.

Two ways to publish, each one transaction as readers see it:

* **Full** (the first publish, every ``FULL_EVERY``-th, a changed column list, or a
  table from which the build removed rows): every mart is streamed into a fresh schema
  ``daybook_publish_<id>`` (COPY, then its indexes and ANALYZE), committed while the
  API keeps reading ``public``; then one short transaction locks the served tables,
  moves them out to ``daybook_retired_<id>``, moves the new ones into ``public`` and
  writes the marker. A reader's statement holds its tables' locks, so it reads wholly
  the old tables or, after waiting for the swap, wholly the new ones. The swap takes its
  locks under a short ``lock_timeout`` and retries: were a reader to hold one table and
  wait for another the swap holds, the swap gives up long before PostgreSQL's deadlock
  check (``deadlock_timeout``, 1 s) would cancel the reader.
* **Changes** (after an incremental build): in one transaction, for each incremental
  mart the rows of the keys the build rewrote (``refreshed_at_utc`` newer than the
  store's) are deleted and inserted, the small table models are replaced, and the marker
  is written. MVCC shows readers the old rows until the commit, and only row locks are
  taken, so nothing waits.

Publishers are serialised by an advisory lock on the store.

Over 300 lines on purpose: the full publish, the swap, the changes-only publish and the
marker they share are one protocol against one store, read together when reasoning about
what a reader can see; the Arrow reading is ``source.py``'s and the plan ``plan.py``'s.
"""

from __future__ import annotations

import io
import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from daybook.build.results import Built
from daybook.config import Warehouse
from daybook.serving.plan import (
    REFRESHED_COLUMN,
    incremental_keys,
    rewritten_tables,
    rows_of_keys_refreshed_since,
    serving_indexes,
)
from daybook.serving.pointer import ServingError
from daybook.serving.snapshots import FULL_EVERY, log_count_mismatch, serving_tables
from daybook.serving.source import Source, check_tables, newest_in_source, open_source

log = logging.getLogger(__name__)

PUBLIC = "public"
META_SCHEMA = "daybook_meta"
STATE_TABLE = f"{META_SCHEMA}.serving_publication"
_ADVISORY_KEY = 7_391_202_615  # "publishing to this store"
SWAP_LOCK_TIMEOUT = "200ms"
SWAP_ATTEMPTS = 50


@dataclass(frozen=True)
class StorePublication:
    """What one publish to a PostgreSQL store did."""

    publication_id: str
    full: bool
    tables: tuple[str, ...]  # the tables written (all on a full publish)


def publish_postgres_store(
    warehouse: Warehouse, store: Warehouse, built: Built | None = None, *, full: bool = False
) -> StorePublication:
    """Publish ``warehouse``'s serving marts into the PostgreSQL ``store``; see the module."""
    import psycopg

    tables = serving_tables()
    publication_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
    with open_source(warehouse) as source, psycopg.connect(store.pg_conninfo) as target:
        check_tables(source, tables)
        newest = newest_in_source(source)
        target.execute("select pg_advisory_lock(%s)", (_ADVISORY_KEY,))
        target.commit()
        try:
            _drop_leftovers(target)
            generation = None if full else _generation(target, tables)
            if generation is not None and generation + 1 < FULL_EVERY:
                written = _publish_changes(
                    source, target, warehouse, tables, built, publication_id, newest, generation
                )
                if written is not None:
                    return StorePublication(publication_id, False, written)
            _publish_full(source, target, tables, publication_id, newest)
            return StorePublication(publication_id, True, tuple(tables))
        finally:
            target.rollback()
            target.execute("select pg_advisory_unlock(%s)", (_ADVISORY_KEY,))
            target.commit()


def published(store: Warehouse) -> StorePublication | None:
    """The store's current publication, or None before the first (or if unreachable)."""
    import psycopg

    try:
        with psycopg.connect(store.pg_conninfo, autocommit=True, connect_timeout=5) as con:
            if not _has(con, STATE_TABLE):
                return None
            row = con.execute(f"select publication_id from {STATE_TABLE}").fetchone()
    except psycopg.OperationalError:
        return None
    return StorePublication(row[0], False, ()) if row else None


# --------------------------------------------------------------------------- full publish


def _publish_full(
    source: Source,
    target: Any,
    tables: Mapping[str, tuple[str, ...]],
    publication_id: str,
    newest: datetime | None,
) -> None:
    suffix = publication_id.lower().replace("-", "_")
    fresh, retired = f"daybook_publish_{suffix}", f"daybook_retired_{suffix}"
    try:
        target.execute(f"create schema {fresh}")
        columns: dict[str, list[str]] = {}
        for name, order in tables.items():
            reader = source.table_batches(name, order)
            columns[name] = reader.schema.names
            target.execute(f"create table {fresh}.{name} ({_ddl(reader.schema)})")
            _copy(target, f"{fresh}.{name}", reader)
        for name, indexes in serving_indexes(tables, columns).items():
            for number, index in enumerate(indexes):
                target.execute(
                    f"create index {name}_serving_{number} on {fresh}.{name} ({', '.join(index)})"
                )
            target.execute(f"analyze {fresh}.{name}")
        target.commit()
        _swap(target, tables, fresh, retired, publication_id, newest)
    except BaseException:
        target.rollback()
        target.execute(f"drop schema if exists {fresh} cascade")
        target.commit()
        raise
    target.execute(f"drop schema if exists {retired} cascade")
    target.execute(f"drop schema if exists {fresh} cascade")
    target.commit()


def _swap(
    target: Any,
    tables: Mapping[str, tuple[str, ...]],
    fresh: str,
    retired: str,
    publication_id: str,
    newest: datetime | None,
) -> None:
    """Move the fresh tables into ``public`` and the served ones out, in one transaction."""
    import psycopg

    for attempt in range(SWAP_ATTEMPTS):
        try:
            served = [name for name in tables if _has(target, f"{PUBLIC}.{name}")]
            relations = [f"{PUBLIC}.{name}" for name in served]
            relations += [f"{fresh}.{name}" for name in tables]
            target.execute(f"set local lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            target.execute(f"lock table {', '.join(relations)} in access exclusive mode")
            target.execute("set local lock_timeout = 0")
            target.execute(f"create schema {retired}")
            for name in served:
                target.execute(f"alter table {PUBLIC}.{name} set schema {retired}")
            for name in tables:
                target.execute(f"alter table {fresh}.{name} set schema {PUBLIC}")
            _write_marker(target, publication_id, newest, generation=0)
            target.commit()
            return
        except psycopg.errors.LockNotAvailable:
            target.rollback()
            time.sleep(0.05 * (attempt + 1))
    raise ServingError(
        f"could not swap the published tables in after {SWAP_ATTEMPTS} attempts: readers "
        "held them throughout"
    )


# --------------------------------------------------------------------------- changes only


def _publish_changes(
    source: Source,
    target: Any,
    warehouse: Warehouse,
    tables: Mapping[str, tuple[str, ...]],
    built: Built | None,
    publication_id: str,
    newest: datetime | None,
    generation: int,
) -> tuple[str, ...] | None:
    """Apply the build's changes to the served tables in one transaction; None (nothing
    committed) when a full publish is needed instead."""
    keys = incremental_keys(warehouse, tables)
    rewritten = rewritten_tables(built, tables)
    written = []
    for name, order in tables.items():
        if rewritten is not None and name not in rewritten:
            continue
        columns = source.columns(name)
        if columns != _columns(target, name):
            log.info("serving store: %s changed its columns; publishing whole", name)
            target.rollback()
            return None
        key = keys.get(name)
        if key and REFRESHED_COLUMN in columns and set(key) <= set(columns):
            if not _apply_changed_keys(source, target, name, order, key):
                target.rollback()
                return None
        else:
            target.execute(f"delete from {PUBLIC}.{name}")
            _copy(target, f"{PUBLIC}.{name}", source.table_batches(name, order))
        built, served = source.scalar(f"select count(*) from {name}"), _count(target, name)
        if built != served:
            log_count_mismatch(log, f"serving store table {name}", served, built)
            target.rollback()
            return None
        written.append(name)
    _write_marker(target, publication_id, newest, generation=generation + 1)
    target.commit()
    return tuple(written)


def _apply_changed_keys(
    source: Source, target: Any, name: str, order: tuple[str, ...], key: list[str]
) -> bool:
    """Replace the rows of the keys rewritten since the store's newest ``refreshed_at_utc``."""
    watermark = target.execute(f"select max({REFRESHED_COLUMN}) from {PUBLIC}.{name}").fetchone()[0]
    if watermark is None:
        return False
    key_list = ", ".join(key)
    where = rows_of_keys_refreshed_since(name, key, source.placeholder)
    target.execute(f"create temp table daybook_changed (like {PUBLIC}.{name}) on commit drop")
    _copy(target, "daybook_changed", source.table_batches(name, order, where, [watermark]))
    matches = " and ".join(f"served.{column} = changed.{column}" for column in key)
    target.execute(
        f"delete from {PUBLIC}.{name} as served using "
        f"(select distinct {key_list} from daybook_changed) as changed where {matches}"
    )
    target.execute(f"insert into {PUBLIC}.{name} select * from daybook_changed")
    target.execute("drop table daybook_changed")
    return True


# --------------------------------------------------------------------------- helpers


def _copy(target: Any, relation: str, reader: pa.RecordBatchReader) -> None:
    """COPY a stream of Arrow batches into ``relation`` as CSV written by Arrow (quoted
    strings, so an empty string stays empty and a missing value is NULL)."""
    columns = ", ".join(reader.schema.names)
    options = pa_csv.WriteOptions(include_header=False)
    with target.cursor().copy(f"copy {relation} ({columns}) from stdin (format csv)") as copy:
        for batch in _batches(reader):
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue())


def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        if batch.num_rows:
            yield batch


_PG_TYPES: tuple[tuple[Any, str], ...] = (
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "smallint"),
    (pa.types.is_int16, "smallint"),
    (pa.types.is_int32, "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_float32, "real"),
    (pa.types.is_floating, "double precision"),
    (pa.types.is_decimal, "numeric"),
    (pa.types.is_date, "date"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
)


def _ddl(schema: pa.Schema) -> str:
    """Column definitions for an Arrow schema (PostgreSQL types)."""
    parts = []
    for field in schema:
        if pa.types.is_timestamp(field.type):
            sql_type = "timestamptz" if field.type.tz else "timestamp"
        else:
            sql_type = next((name for test, name in _PG_TYPES if test(field.type)), None)
            if sql_type is None:
                raise ServingError(f"cannot serve column {field.name} of type {field.type}")
        parts.append(f'"{field.name}" {sql_type}')
    return ", ".join(parts)


def _has(con: Any, relation: str) -> bool:
    return bool(con.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0])


def _columns(target: Any, name: str) -> list[str]:
    rows = target.execute(
        "select column_name from information_schema.columns where table_schema = %s "
        "and table_name = %s order by ordinal_position",
        (PUBLIC, name),
    ).fetchall()
    return [row[0] for row in rows]


def _count(target: Any, name: str) -> int:
    return target.execute(f"select count(*) from {PUBLIC}.{name}").fetchone()[0]


def _generation(target: Any, tables: Mapping[str, tuple[str, ...]]) -> int | None:
    """Publishes since the last full one, or None when a full publish is needed."""
    if not _has(target, STATE_TABLE):
        return None
    row = target.execute(f"select generation from {STATE_TABLE}").fetchone()
    if row is None or not all(_has(target, f"{PUBLIC}.{name}") for name in tables):
        return None
    return int(row[0])


def _write_marker(
    target: Any, publication_id: str, newest: datetime | None, *, generation: int
) -> None:
    """The data version the API caches under, and this store's publication record, in the
    caller's transaction (the same table and columns dbt's ``record_build`` writes)."""
    newest_naive = newest.astimezone(UTC).replace(tzinfo=None) if newest else None
    target.execute(f"create schema if not exists {META_SCHEMA}")
    target.execute(
        f"create table if not exists {META_SCHEMA}.build_marker (marker_id integer primary key,"
        " invocation_id varchar(64) not null, finished_at_utc timestamp not null,"
        " newest_received_at_utc timestamp)"
    )
    target.execute(
        f"insert into {META_SCHEMA}.build_marker values (1, %s, now() at time zone 'utc', %s)"
        " on conflict (marker_id) do update set invocation_id = excluded.invocation_id,"
        " finished_at_utc = excluded.finished_at_utc,"
        " newest_received_at_utc = excluded.newest_received_at_utc",
        (publication_id, newest_naive),
    )
    target.execute(
        f"create table if not exists {STATE_TABLE} (marker_id integer primary key,"
        " publication_id varchar(64) not null, generation integer not null,"
        " published_at_utc timestamp not null)"
    )
    target.execute(
        f"insert into {STATE_TABLE} values (1, %s, %s, now() at time zone 'utc')"
        " on conflict (marker_id) do update set publication_id = excluded.publication_id,"
        " generation = excluded.generation, published_at_utc = excluded.published_at_utc",
        (publication_id, generation),
    )


def _drop_leftovers(target: Any) -> None:
    """Schemas a killed publish left behind (publishers hold the advisory lock, so none is
    in use)."""
    rows = target.execute(
        "select nspname from pg_namespace where nspname like 'daybook\\_publish\\_%' "
        "or nspname like 'daybook\\_retired\\_%'"
    ).fetchall()
    for (schema,) in rows:
        target.execute(f"drop schema if exists {schema} cascade")
    target.commit()
