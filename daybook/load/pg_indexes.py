"""The PostgreSQL indexes of ``raw.heartbeats``, and when a load creates or drops them.

The loader's duplicate check (``daybook.load.merge``) looks rows up by id and
by missing id; incremental dbt models select new arrivals by
``received_at_utc``. Entities have no index: their tables are small.

The id index is a b-tree over the id's 4-byte ``hashtext`` (the merge compares
hashes, then ids). Measured at 4M heartbeats on this machine, it builds in
3.0 s against 3.7 s for a b-tree over the ids themselves ("C" collation) and
8 to 22 s for the hash index used before (whose build was the largest single
cost of a first load), and takes 85 MB against 222 MB and 128 MB.

A load into an empty table (the big first load) drops the bulk indexes and
builds them after the rows, which is far cheaper than inserting into them row
by row; the index of rows without an id holds only rare rows, so it is kept
up during the insert (one predicate a row) instead of rebuilt after it (one
more scan of the whole table).
"""

from __future__ import annotations

from daybook.raw_schema import RAW_SCHEMA, RawTable

BULK_INDEXES = {
    "raw_heartbeats_id_hash_idx": "(hashtext(heartbeat_id))",
    "raw_heartbeats_received_idx": "(received_at_utc)",
}
KEPT_INDEXES = {"raw_heartbeats_missing_id_idx": "(received_at_utc) where heartbeat_id is null"}
# indexes of earlier versions, dropped by the next load
RETIRED_INDEXES = ("raw_heartbeats_id_idx",)


def index_statements(table: RawTable, *, bulk_insert: bool) -> tuple[list[str], list[str]]:
    """(statements before the rows are inserted, statements after), for ``table``.

    ``bulk_insert``: the table is empty, so the bulk indexes are built after
    the insert. Otherwise every index exists before the merge probes it
    (``create index if not exists`` costs nothing when it does).
    """
    if table.name != "heartbeats":
        return [], []
    retire = [f"drop index if exists {RAW_SCHEMA}.{name}" for name in RETIRED_INDEXES]
    if bulk_insert:
        drop_bulk = [f"drop index if exists {RAW_SCHEMA}.{name}" for name in BULK_INDEXES]
        return retire + drop_bulk + _create(table, KEPT_INDEXES), _create(table, BULK_INDEXES)
    return retire + _create(table, {**BULK_INDEXES, **KEPT_INDEXES}), []


def _create(table: RawTable, indexes: dict[str, str]) -> list[str]:
    return [
        f"create index if not exists {name} on {table.qualified_name} {spec}"
        for name, spec in indexes.items()
    ]
