"""The steps both targets (``to_duckdb``, ``to_postgres``) take, in one place.

One transaction per call (``all_or_nothing``), the choice between writing
straight into raw and staging, the stage's columns, the entity key check and
upsert, and turning a reader failure into a ``LoadError`` with file, row and
column. Each target only says how its database reads the files and runs the
statements.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
from collections.abc import Iterator
from typing import Any

from daybook.cli_errors import first_line, is_interrupt
from daybook.load.errors import LoadError, LoadInterrupted
from daybook.load.files import InputFile
from daybook.load.merge import (
    entity_changes_sql,
    latest_sql,
    missing_key_sql,
    repeated_keys_sql,
    replace_statements,
)
from daybook.load.read_failures import raise_for_csv_values, raise_for_parquet_values
from daybook.load.result import EntityChanges
from daybook.raw_schema import RawTable


@contextlib.contextmanager
def all_or_nothing(
    con: Any, driver_errors: type[Exception], refused: str, *also_close: Any
) -> Iterator[Any]:
    """Commit ``con`` when the block completes; on any exception roll it back.

    A driver error becomes ``LoadError("<refused>: <its first line>")`` (later
    lines can quote the SQL); Ctrl-C before the commit, ``LoadInterrupted``. ``con`` and
    ``also_close`` are closed either way.
    """
    try:
        yield con
        con.commit()
    except BaseException as error:
        interrupted = is_interrupt(error)  # Ctrl-C, also as DuckDB's "Query interrupted"
        if interrupted:
            _stop_queries(con, *also_close)
        _rollback(con)
        if interrupted:
            raise LoadInterrupted() from None
        if isinstance(error, driver_errors):
            raise LoadError(f"{refused}: {first_line(error)}") from None
        raise
    finally:
        for connection in (con, *also_close):
            connection.close()


def _stop_queries(*connections: Any) -> None:
    """Stop what DuckDB connections still run: on Ctrl-C DuckDB raises at once but may leave
    the statement running, and the rollback waited for it (for as long as the whole insert
    would have taken). PostgreSQL's driver cancels its own statement on Ctrl-C."""
    for connection in connections:
        interrupt = getattr(connection, "interrupt", None)
        if interrupt is not None:
            with contextlib.suppress(Exception):
                interrupt()


def _rollback(con: Any) -> None:
    with contextlib.suppress(Exception):
        con.rollback()


def loads_directly(spec: RawTable, rows_before: int) -> bool:
    """Heartbeats into an empty table need no comparison: write them straight into raw.

    This is the big first load (tens of millions of rows), where a stage and
    a merge would double the work. Entities always go through the stage: the
    upsert also settles repeated keys between files.
    """
    return spec.name == "heartbeats" and rows_before == 0


def numbered(spec: RawTable) -> bool:
    """Entity rows carry their position in the file: the last row of a repeated id wins."""
    return spec.name != "heartbeats"


def sink_columns(spec: RawTable, direct: bool) -> str:
    """The columns a load writes: the raw ones, plus the stage's file (and row) tags."""
    columns = ", ".join(f'"{name}"' for name in spec.column_names)
    if direct:
        return columns
    return f"{columns}, _file, _row" if numbered(spec) else f"{columns}, _file"


def use_utc(duck: Any, *, keep_order: bool) -> None:
    """Zoned timestamps become naive UTC, whatever the machine's zone.

    Heartbeat row order carries no meaning, so DuckDB may insert them in
    parallel; entity rows keep file order (the last row of a repeated id wins).
    """
    with contextlib.suppress(Exception):  # no ICU: nothing zoned to convert then
        duck.execute("set TimeZone = 'UTC'")
    duck.execute(f"set preserve_insertion_order = {'true' if keep_order else 'false'}")


def explain(duck: Any, item: InputFile, spec: RawTable, error: Exception) -> None:
    """Turn a reader failure into a ``LoadError`` naming the file, row and column."""
    if item.file_format == "parquet":
        raise_for_parquet_values(duck, item, spec, error)
    raise_for_csv_values(duck, item, spec, error)


def replace_entities(cur: Any, spec: RawTable) -> EntityChanges:
    """Replace earlier rows of the staged ids (last row loaded wins); count what changed."""
    cur.execute(repeated_keys_sql(spec))
    repeated = int(cur.fetchone()[0] or 0)
    cur.execute(latest_sql(spec))
    cur.execute(entity_changes_sql(spec))
    replaced, moved, rezoned = (int(value or 0) for value in cur.fetchone())
    for statement in replace_statements(spec):
        cur.execute(statement)
    return EntityChanges(replaced=replaced, moved=moved, rezoned=rezoned, repeated=repeated)


def check_keys(cur: Any, spec: RawTable, inputs: list[InputFile]) -> None:
    """Entity rows need their key: without it the row can be neither upserted nor joined."""
    if spec.name == "heartbeats":
        return
    cur.execute(missing_key_sql(spec))
    found = cur.fetchone()[0]
    if found is not None:
        item = inputs[int(found)]
        raise LoadError(
            f"{item.path}: {first_missing_key(item, spec)}, column {spec.key}: "
            f"the {spec.key} is missing (every raw.{spec.name} row needs one)"
        )


def first_missing_key(item: InputFile, spec: RawTable) -> str:
    """'line N' (CSV) or 'row N' (Parquet) of the first row whose key is empty."""
    import duckdb

    with duckdb.connect() as duck:
        if item.file_format == "parquet":
            row = duck.execute(
                f"select min(file_row_number) + 1 from read_parquet(?, file_row_number = true) "
                f'where "{spec.key}" is null',
                [str(item.path)],
            ).fetchone()[0]
            return f"row {row}"
    opener = gzip.open if item.path.name.lower().endswith(".gz") else open
    with opener(item.path, "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            if not record.get(spec.key):
                return f"line {reader.line_num}"
    return "a row"


def count_rows(cur: Any, spec: RawTable) -> int:
    cur.execute(f"select count(*) from {spec.qualified_name}")
    return int(cur.fetchone()[0])


def has_rows(cur: Any, spec: RawTable) -> int:
    """1 when the table holds any row, else 0 (cheap on a large table)."""
    cur.execute(f"select exists (select 1 from {spec.qualified_name})")
    return int(bool(cur.fetchone()[0]))
