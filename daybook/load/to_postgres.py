"""Loading into PostgreSQL: files parsed by an in-memory DuckDB, sent with binary COPY.

The whole call is one transaction on PostgreSQL. The first heartbeat load
(an empty table) is copied straight into ``raw.heartbeats`` with its bulk
indexes dropped and built after the rows (``daybook.load.pg_indexes``);
other loads are copied into a temporary stage and merged. While psycopg's
queued writer sends one batch on its own thread, this thread has DuckDB
parse the next and encodes it (``daybook.load.pgbinary``), so the client's
work overlaps the server's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daybook.cli_errors import first_line
from daybook.config import Warehouse
from daybook.load import pgbinary
from daybook.load.errors import LoadError, LoadInterrupted
from daybook.load.files import InputFile
from daybook.load.merge import STAGE, merge_statements, stage_sql
from daybook.load.pg_indexes import index_statements
from daybook.load.read_failures import raise_for_csv_rejects
from daybook.load.reading import reset_rejects, select_sql
from daybook.load.result import EntityChanges
from daybook.load.steps import (
    all_or_nothing,
    check_keys,
    count_rows,
    explain,
    has_rows,
    loads_directly,
    numbered,
    replace_entities,
    sink_columns,
    use_utc,
)
from daybook.raw_schema import RAW_SCHEMA, RawTable
from daybook.warehouse import connect

COPY_BATCH_ROWS = 200_000


def load_postgres(
    warehouse: Warehouse, spec: RawTable, inputs: list[InputFile], advance: Callable[[], None]
) -> tuple[int, int, EntityChanges]:
    """Load ``inputs`` into ``spec``'s raw table: (rows read, rows added, entity changes)."""
    import duckdb
    import psycopg

    duck = duckdb.connect()
    use_utc(duck, keep_order=spec.name != "heartbeats")
    try:
        pg = connect(warehouse)
    except psycopg.Error as error:
        duck.close()
        raise LoadError(f"cannot connect to PostgreSQL: {first_line(error)}") from None
    except KeyboardInterrupt:  # nothing written yet
        duck.close()
        raise LoadInterrupted() from None
    with all_or_nothing(pg, psycopg.Error, "PostgreSQL refused the load", duck), pg.cursor() as cur:
        cur.execute(f"create schema if not exists {RAW_SCHEMA}")
        cur.execute(spec.create_sql())
        # one loader at a time per table (readers are not blocked): the merge compares
        # with what is already there, which a concurrent load would change underneath
        cur.execute(f"lock table {spec.qualified_name} in share row exclusive mode")
        cur.execute("set local work_mem = '256MB'")
        # index builds sort in memory instead of in temporary files
        cur.execute("set local maintenance_work_mem = '1GB'")
        cur.execute("set local jit = off")
        # counting 25M heartbeats costs seconds; only entities need a count
        before = count_rows(cur, spec) if spec.name != "heartbeats" else has_rows(cur, spec)
        direct = loads_directly(spec, before)
        before_insert, after_insert = index_statements(spec, bulk_insert=direct)
        for statement in before_insert:
            cur.execute(statement)
        if not direct:
            cur.execute(stage_sql(spec, duck_types=False) + " on commit drop")
        rows_read = 0
        for index, item in enumerate(inputs):
            rows_read += _copy_file(duck, cur, spec, item, None if direct else index)
            advance()
        changes = EntityChanges()
        if direct:
            added = rows_read
        else:
            check_keys(cur, spec, inputs)
            cur.execute(f"analyze {STAGE}")
            added = 0
            if spec.name == "heartbeats":
                for statement in merge_statements(spec, "postgres"):
                    cur.execute(statement)
                    added += max(cur.rowcount, 0)
            else:  # upserts replace rows: count what is new
                changes = replace_entities(cur, spec)
                added = count_rows(cur, spec) - before
        for statement in after_insert:
            cur.execute(statement)
        if direct:  # fresh statistics, or the next load's duplicate check scans everything
            cur.execute(f"analyze {spec.qualified_name}")
    return rows_read, added, changes


def _copy_file(duck: Any, cur: Any, spec: RawTable, item: InputFile, index: int | None) -> int:
    """Stream one file, parsed by DuckDB, into PostgreSQL with binary COPY.

    ``index`` None: straight into the raw table; otherwise into the stage, tagged.
    """
    import duckdb
    import psycopg
    import pyarrow as pa

    reset_rejects(duck)
    direct = index is None
    sink = spec.qualified_name if direct else STAGE
    rows = 0
    select = select_sql(item, spec, index, row_numbers=numbered(spec) and not direct)
    try:
        result = duck.execute(select, [str(item.path)])
        # to_arrow_reader is the newer name (duckdb >= 1.4) of fetch_record_batch
        reader = getattr(result, "to_arrow_reader", result.fetch_record_batch)(COPY_BATCH_ROWS)
        columns = sink_columns(spec, direct)
        # the queued writer sends on its own thread while this one parses and encodes
        writer = psycopg.copy.QueuedLibpqWriter(cur)
        with cur.copy(f"copy {sink} ({columns}) from stdin (format binary)", writer=writer) as copy:
            copy.write(pgbinary.HEADER)
            for batch in reader:
                for piece in pgbinary.encode_batch(batch):
                    copy.write(piece)
                rows += batch.num_rows
            copy.write(pgbinary.TRAILER)
    except (duckdb.Error, pa.ArrowException, OSError) as error:
        # a failure after the first batch reaches us through Arrow's reader (OSError);
        # leaving the COPY block with it aborted the COPY, the caller rolls back
        explain(duck, item, spec, error)
    raise_for_csv_rejects(duck, item)
    return rows
