"""Loading into a DuckDB warehouse: the warehouse's own DuckDB reads the files.

Each file is inserted with one ``insert ... select`` over DuckDB's bulk
reader (``daybook.load.reading``), straight into the raw table for the first
heartbeat load, otherwise into a temporary stage that is then merged
(``daybook.load.merge``); the whole call is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from daybook.cli_errors import first_line, is_interrupt
from daybook.config import Warehouse
from daybook.load.errors import LoadError, LoadInterrupted
from daybook.load.files import InputFile
from daybook.load.merge import STAGE, merge_statements, stage_sql
from daybook.load.read_failures import raise_for_csv_rejects
from daybook.load.reading import reset_rejects, select_sql
from daybook.load.result import EntityChanges
from daybook.load.steps import (
    all_or_nothing,
    check_keys,
    count_rows,
    explain,
    loads_directly,
    numbered,
    replace_entities,
    sink_columns,
    use_utc,
)
from daybook.raw_schema import RAW_SCHEMA, RawTable
from daybook.warehouse import connect


def load_duckdb(
    warehouse: Warehouse, spec: RawTable, inputs: list[InputFile], advance: Callable[[], None]
) -> tuple[int, int, EntityChanges]:
    """Load ``inputs`` into ``spec``'s raw table: (rows read, rows added, entity changes)."""
    import duckdb

    try:
        con = connect(warehouse)  # waits while another process holds the file
    except duckdb.Error as error:
        raise LoadError(f"cannot open the DuckDB warehouse: {first_line(error)}") from None
    except KeyboardInterrupt:  # nothing written yet
        raise LoadInterrupted() from None
    with all_or_nothing(con, duckdb.Error, "DuckDB refused the load"):
        use_utc(con, keep_order=spec.name != "heartbeats")
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(spec.create_sql())
        before = count_rows(con, spec)
        direct = loads_directly(spec, before)
        if not direct:
            con.execute(stage_sql(spec, duck_types=True))
        rows_read = 0
        for index, item in enumerate(inputs):
            reset_rejects(con)
            sink = spec.qualified_name if direct else STAGE
            columns = sink_columns(spec, direct)
            select = select_sql(item, spec, None if direct else index, row_numbers=numbered(spec))
            try:
                inserted = con.execute(f"insert into {sink} ({columns}) {select}", [str(item.path)])
                rows_read += inserted.fetchone()[0]
            except duckdb.Error as error:
                if is_interrupt(error):
                    raise
                con.rollback()
                explain(con, item, spec, error)
            raise_for_csv_rejects(con, item)
            advance()
        changes = EntityChanges()
        if not direct:
            check_keys(con, spec, inputs)
            if spec.name == "heartbeats":
                for statement in merge_statements(spec, "duckdb"):
                    con.execute(statement)
            else:
                changes = replace_entities(con, spec)
        added = count_rows(con, spec) - before
        if not direct:
            con.execute(f"drop table {STAGE}")
    return rows_read, added, changes
