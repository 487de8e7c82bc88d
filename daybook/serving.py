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

The module also answers "how fresh is this?" (:func:`freshness`) on both
backends and sets the HTTP caching headers (:func:`install_http_caching`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daybook.config import Warehouse

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


# --------------------------------------------------------------------------- publishing


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
    import duckdb

    folder = serving_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    built_at = datetime.now(UTC)
    snapshot_id = f"{built_at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
    final = folder / f"snapshot-{snapshot_id}.duckdb"
    partial = folder / f"snapshot-{snapshot_id}.duckdb.partial"
    assert warehouse.duckdb_path is not None
    previous = None if full else current_snapshot(warehouse)
    con = duckdb.connect(str(warehouse.duckdb_path))
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
    path = warehouse.state_dir / "dbt" / "target" / "manifest.json"
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


# --------------------------------------------------------------------------- reading


_SERIALS = itertools.count()


@dataclass
class _OpenSnapshot:
    """A read-only connection to one snapshot file, closed after its last user leaves."""

    snapshot: Snapshot
    connection: Any
    serial: int = field(default_factory=lambda: next(_SERIALS))
    users: int = 0
    retired: bool = False
    cursors: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for cursor in self.cursors:
            with contextlib.suppress(Exception):
                cursor.close()
        self.cursors.clear()
        with contextlib.suppress(Exception):
            self.connection.close()


class SnapshotReader:
    """Thread-safe read access to the current DuckDB snapshot, switching when a refresh publishes.

    Use ``with reader.connection() as con: con.execute(sql, params)``. Each
    thread gets its own cursor (DuckDB cursors are per-thread connections to
    one database instance); a query in flight keeps its snapshot open even if a
    newer one is published meanwhile.
    """

    def __init__(self, warehouse: Warehouse, *, duckdb_config: dict[str, Any] | None = None):
        if warehouse.backend != "duckdb":
            raise ServingError("SnapshotReader serves DuckDB warehouses only")
        self.warehouse = warehouse
        self.folder = serving_dir(warehouse)
        self.pointer = self.folder / POINTER_NAME
        self.duckdb_config: dict[str, Any] = {
            "memory_limit": os.environ.get(SERVING_MEMORY_ENV, DEFAULT_SERVING_MEMORY)
        }
        if os.environ.get(SERVING_THREADS_ENV):
            self.duckdb_config["threads"] = int(os.environ[SERVING_THREADS_ENV])
        self.duckdb_config.update(duckdb_config or {})
        self._lock = threading.Lock()
        self._open: _OpenSnapshot | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._local = threading.local()

    def current(self) -> Snapshot:
        """The newest published snapshot (re-reading the pointer only when it changed)."""
        return self._acquire(pin=False).snapshot

    def thread_snapshot(self) -> Snapshot | None:
        """The snapshot this thread's last query read, for headers matching the answer."""
        return getattr(self._local, "snapshot", None)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """This thread's cursor on the current snapshot, pinned until the block ends."""
        handle = self._acquire(pin=True)
        try:
            cursors = self._thread_cursors()
            cursor = cursors.get(handle.serial)
            if cursor is None:
                cursors.clear()  # cursors of older snapshots close with their snapshot
                with self._lock:
                    cursor = handle.connection.cursor()
                    handle.cursors.append(cursor)
                cursors[handle.serial] = cursor
            self._local.snapshot = handle.snapshot
            yield cursor
        finally:
            self._release(handle)

    def close(self) -> None:
        """Close the current snapshot connection (for shutdown and tests)."""
        with self._lock:
            if self._open is not None:
                self._open.retired = True
                if self._open.users == 0:
                    self._open.close()
                self._open = None
                self._stamp = None

    def _thread_cursors(self) -> dict[int, Any]:
        cursors = getattr(self._local, "cursors", None)
        if cursors is None:
            cursors = self._local.cursors = {}
        return cursors

    def _pointer_stamp(self) -> tuple[int, int, int]:
        try:
            status = os.stat(self.pointer)
        except FileNotFoundError:
            raise ServingError(
                f"no published snapshot under {self.folder}: run `daybook build` or "
                "`daybook refresh` first"
            ) from None
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def _acquire(self, *, pin: bool) -> _OpenSnapshot:
        stamp = self._pointer_stamp()
        with self._lock:
            if self._open is None or stamp != self._stamp:
                self._switch(stamp)
            assert self._open is not None
            if pin:
                self._open.users += 1
            return self._open

    def _switch(self, stamp: tuple[int, int, int]) -> None:
        """Open the snapshot the pointer names (called with the lock held)."""
        snapshot = _read_pointer(self.folder)
        if snapshot is None:
            raise ServingError(f"no published snapshot under {self.folder}")
        if self._open is not None and self._open.snapshot.id == snapshot.id:
            self._stamp = stamp
            return
        import duckdb

        try:
            connection = duckdb.connect(
                str(snapshot.path), read_only=True, config=self.duckdb_config
            )
        except duckdb.Error as error:
            raise ServingError(f"cannot open snapshot {snapshot.path.name}: {error}") from error
        previous, self._open, self._stamp = self._open, _OpenSnapshot(snapshot, connection), stamp
        if previous is not None:
            previous.retired = True
            if previous.users == 0:
                previous.close()
        log.info("serving snapshot %s", snapshot.id)

    def _release(self, handle: _OpenSnapshot) -> None:
        with self._lock:
            handle.users -= 1
            if handle.retired and handle.users == 0:
                handle.close()


def keep_pandas_out_of_duckdb() -> bool:
    """Stop DuckDB's Python client from importing pandas in an API worker; True if applied.

    The first query that binds a parameter makes the duckdb module import
    pandas (and with it numpy and pyarrow) only to ask whether each value is a
    pandas object: about 90 MB of resident memory per worker for nothing,
    since the API binds only strings and dates. Marking pandas as absent makes
    duckdb treat it as not installed. Call it once in a serving worker process
    (gunicorn ``post_fork``) before its first query, never in a process that
    uses pandas; it does nothing if pandas is already imported.
    """
    import sys

    if "pandas" in sys.modules:
        return False
    sys.modules["pandas"] = None  # type: ignore[assignment]
    return True


class SnapshotDataReader:
    """The API's ``Reader`` interface (``api.data``) on top of :class:`SnapshotReader`.

    Drop-in for a DuckDB warehouse: ``fetch_all(sql, parameters)`` runs on the
    current snapshot through this thread's cursor.
    """

    dialect = "duckdb"

    def __init__(self, warehouse: Warehouse, *, duckdb_config: dict[str, Any] | None = None):
        self.snapshots = SnapshotReader(warehouse, duckdb_config=duckdb_config)

    def fetch_all(self, sql: str, parameters: Any) -> list[tuple]:
        with self.snapshots.connection() as con:
            return con.execute(sql, parameters).fetchall()

    def ping(self) -> None:
        self.fetch_all("select 1", [])

    def close(self) -> None:
        self.snapshots.close()


# --------------------------------------------------------------------------- freshness


def newest_included(con: Any, backend: str) -> datetime | None:
    """Max ``received_at_utc`` of the heartbeats a built warehouse includes, from ``con``."""
    for schema, table in FRESHNESS_SOURCES:
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


def freshness(warehouse: Warehouse, con: Any | None = None) -> datetime | None:
    """When the newest data the API serves was received (UTC), or None if nothing is built.

    DuckDB: the current snapshot's record (no database access). PostgreSQL: a
    small query on the warehouse (``con`` may be a pooled connection).
    """
    if warehouse.backend == "duckdb":
        snapshot = current_snapshot(warehouse)
        return snapshot.newest_received_at if snapshot else None
    if con is not None:
        return newest_included(con, "postgres")
    from daybook.warehouse import connection

    with connection(warehouse, read_only=True) as own:
        try:
            return newest_included(own, "postgres")
        finally:
            own.rollback()


class FreshnessCache:
    """Per-process freshness with a short time-to-live, so headers cost no query per request.

    On DuckDB the reader's pinned snapshot is exact and free; on PostgreSQL the
    value is re-read at most every ``ttl`` seconds (a second is invisible
    against the five-minute freshness promise).
    """

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        reader: SnapshotReader | None = None,
        connect: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        ttl: float = 1.0,
    ):
        self.warehouse = warehouse
        self.reader = reader
        self.connect = connect
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: datetime | None = None
        self._expires = 0.0
        self._stamp: tuple[int, int, int] | None = None

    def _pointer_freshness(self) -> datetime | None:
        """The current snapshot's freshness, re-reading the pointer only when it changed."""
        pointer = serving_dir(self.warehouse) / POINTER_NAME
        stamp = _pointer_stamp(pointer)
        if stamp is None or stamp != self._stamp:
            value = freshness(self.warehouse)
            with self._lock:
                self._value, self._stamp = value, stamp
            return value
        return self._value

    def __call__(self) -> datetime | None:
        if self.warehouse.backend == "duckdb":
            if self.reader is not None:
                snapshot = self.reader.thread_snapshot() or self.reader.current()
                return snapshot.newest_received_at
            return self._pointer_freshness()
        now = time.monotonic()
        if now < self._expires:
            return self._value
        with self._lock:
            if now >= self._expires:  # another thread may have refreshed it meanwhile
                if self.connect is not None:
                    with self.connect() as con:
                        self._value = freshness(self.warehouse, con)
                else:
                    self._value = freshness(self.warehouse)
                self._expires = time.monotonic() + self.ttl
            return self._value


def _pointer_stamp(pointer: Path) -> tuple[int, int, int] | None:
    try:
        status = os.stat(pointer)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def freshness_source(warehouse: Warehouse, reader: Any = None) -> FreshnessCache:
    """The freshness callable for a warehouse and the API's reader.

    With a :class:`SnapshotDataReader` the time is that of the snapshot the
    request's thread read; with a pooled PostgreSQL reader (``.connection()``)
    the query borrows a pooled connection.
    """
    if isinstance(reader, SnapshotDataReader):
        return FreshnessCache(warehouse, reader=reader.snapshots)
    connect = getattr(reader, "connection", None) if warehouse.backend == "postgres" else None
    return FreshnessCache(warehouse, connect=connect)


# --------------------------------------------------------------------------- answer cache


class AnswerCache:
    """Answers kept per data version: exact reuse until the next publish, then forgotten.

    On DuckDB the version is the served snapshot's id (:func:`data_version`),
    so a cached answer is byte-for-byte what the query would return. Only
    answers computed for the current version are stored, so a query that
    raced a publish can never be served for the newer version. Bounded (LRU).
    """

    def __init__(self, maxsize: int = 2048):
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._version: str | None = None
        self._answers: OrderedDict[Any, Any] = OrderedDict()

    def get(self, version: str | None, key: Any) -> Any | None:
        if version is None:
            return None
        with self._lock:
            if version != self._version:
                return None
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, version: str | None, key: Any, answer: Any) -> None:
        if version is None:
            return
        with self._lock:
            if version != self._version:
                if self._version is not None and version < self._version:
                    return  # computed before a newer publish another request already saw
                self._version = version
                self._answers.clear()
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.maxsize:
                self._answers.popitem(last=False)


def data_version(warehouse: Warehouse) -> str | None:
    """An id that changes whenever the served data changes, or None when there is no cheap one.

    DuckDB: the current snapshot's id (ids sort by publish time). PostgreSQL:
    None (dbt changes tables in place; answers are not cached there).
    """
    if warehouse.backend != "duckdb":
        return None
    folder = serving_dir(warehouse)
    stamp = _pointer_stamp(folder / POINTER_NAME)
    cached = _VERSIONS.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    snapshot = _read_pointer(folder)
    version = snapshot.id if snapshot else None
    _VERSIONS[folder] = (stamp, version)
    return version


_VERSIONS: dict[Path, tuple[Any, str | None]] = {}  # pointer stat -> id, per serving folder


# --------------------------------------------------------------------------- HTTP caching

DEFAULT_MAX_AGE = 60


def cache_headers(
    response: Any,
    request: Any,
    *,
    newest_data: datetime | None,
    max_age: int = DEFAULT_MAX_AGE,
) -> Any:
    """Add ``ETag``, ``Last-Modified``, ``Cache-Control`` to a 200 answer; 304 on a matching tag.

    The ETag is a hash of the body, so a 304 is never wrong: it is sent only
    when the answer is byte-for-byte what the client holds. ``Last-Modified`` is
    the newest data included (the contract's meaning), which is why
    ``If-Modified-Since`` is not honoured: a late-loaded file can change an
    answer without moving that time. ``max-age`` is short against the
    five-minute freshness promise, and ``private`` because answers depend on
    the bearer token.
    """
    if request.method not in {"GET", "HEAD"} or response.status_code != 200:
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    body = response.get_data()
    tag = hashlib.blake2b(body, digest_size=16).hexdigest()
    response.set_etag(tag)
    if newest_data is not None:
        response.last_modified = newest_data
    response.headers["Cache-Control"] = f"private, max-age={max_age}, must-revalidate"
    response.vary.add("Authorization")
    if request.if_none_match and request.if_none_match.contains_weak(tag):
        response.status_code = 304
        response.set_data(b"")
        for header in ("Content-Type", "Content-Length"):
            response.headers.pop(header, None)
    return response


def install_http_caching(
    app: Any,
    newest_data: Callable[[], datetime | None],
    *,
    max_age: int = DEFAULT_MAX_AGE,
    paths: Iterable[str] = ("/v2/clients/",),
) -> None:
    """Register :func:`cache_headers` on a Flask app for the data endpoints under ``paths``."""
    from flask import request

    if app.extensions.get("daybook_http_caching"):
        return
    app.extensions["daybook_http_caching"] = True
    prefixes = tuple(paths)

    def add_cache_headers(response: Any) -> Any:
        if not request.path.startswith(prefixes) or response.status_code != 200:
            return response
        try:
            newest = newest_data()
        except Exception:  # headers must never turn an answer into an error
            log.exception("freshness lookup failed; answering without Last-Modified")
            newest = None
        return cache_headers(response, request, newest_data=newest, max_age=max_age)

    app.after_request(add_cache_headers)


# --------------------------------------------------------------------------- helpers


def _duckdb_has(con: Any, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _columns(con: Any, catalog: str, table: str) -> list[str]:
    """Column names of ``<catalog>.main.<table>`` in order ("main": the build database)."""
    if catalog == "main":
        catalog = con.execute("select current_database()").fetchone()[0]
    rows = con.execute(
        "select column_name from information_schema.columns where table_catalog = ? "
        "and table_schema = 'main' and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()
    return [row[0] for row in rows]


def _postgres_has(con: Any, schema: str, table: str) -> bool:
    cursor = con.cursor()
    cursor.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',))
    row = cursor.fetchone()
    return bool(row and row[0])


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise ServingError(f"unexpected freshness value {value!r}")


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _as_utc(value).isoformat()


def _parse_iso(value: str | None) -> datetime | None:
    return None if value is None else _as_utc(datetime.fromisoformat(value))
