"""``load_files``: bulk, atomic, idempotent loading of CSV/Parquet files into ``raw.*``.

One call is one transaction on the target. Files are parsed by DuckDB (the
target itself when it is DuckDB, an in-memory one for PostgreSQL, streamed
into a temporary table with ``COPY``), staged, checked, and merged; any
problem rolls everything back, so a refused call leaves the warehouse as it was.
Every refusal is a ``LoadError`` naming the file (and the row and column when
there is one); driver errors are reduced to their first line, which never
holds the SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybook.config import Warehouse
from daybook.load import pgbinary
from daybook.load.errors import LoadError
from daybook.load.files import InputFile, inspect_file
from daybook.load.merge import (
    STAGE,
    create_index_statements,
    drop_bulk_index_statements,
    entity_changes_sql,
    latest_sql,
    merge_statements,
    missing_key_sql,
    repeated_keys_sql,
    replace_statements,
    stage_sql,
)
from daybook.load.progress import load_progress
from daybook.load.reading import (
    first_line,
    raise_for_csv_rejects,
    raise_for_csv_values,
    raise_for_parquet_values,
    reset_rejects,
    select_sql,
)
from daybook.raw_schema import RAW_SCHEMA, RawTable, raw_table
from daybook.warehouse import connect

COPY_BATCH_ROWS = 200_000


@dataclass(frozen=True)
class EntityChanges:
    """What an entity load changed in rows already loaded (all zero for heartbeats).

    ``replaced``: rows that replaced an earlier row with the same id and other
    values; ``moved``: of those, users or devices now under another client;
    ``rezoned``: clients with another time zone; ``repeated``: rows of this call
    whose id appeared earlier in the same call (only the last one was kept).
    """

    replaced: int = 0
    moved: int = 0
    rezoned: int = 0
    repeated: int = 0


@dataclass(frozen=True)
class LoadResult:
    """What one ``load_files`` call did: rows read from the files and rows new to the table."""

    table: str
    files: tuple[Path, ...]
    rows_read: int
    rows_added: int
    changes: EntityChanges = EntityChanges()

    def notices(self) -> list[str]:
        """Warnings for the user: earlier entity rows replaced, ids repeated within the call."""
        changes, singular = self.changes, self.table.removesuffix("s")
        out = []
        if changes.replaced:
            line = f"{_rows(changes.replaced, singular)} replaced earlier rows with other values"
            if changes.moved:
                line += f"; {changes.moved:,} moved to another client"
            if changes.rezoned:
                line += f"; {changes.rezoned:,} changed time zone"
            out.append(
                line + " (applies to all their heartbeats, old ones included, from the next build)"
            )
        if changes.repeated:
            out.append(
                f"{_rows(changes.repeated, 'row')} repeated an id given earlier in these files; "
                "the last row of each id was kept"
            )
        return out


def _rows(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def load_files(
    warehouse: Warehouse, table: str, files: Sequence[Path], *, progress: bool = False
) -> LoadResult:
    """Load ``files`` into ``raw.<table>`` all-or-nothing; raise ``LoadError`` on any bad file."""
    try:
        spec = raw_table(table)
    except ValueError as error:
        raise LoadError(str(error)) from None
    # the same file named twice in one call is loaded once
    unique = list(dict.fromkeys(Path(path).resolve() for path in files))
    named = {Path(path).resolve(): Path(path) for path in files}
    inputs = [inspect_file(named[path], spec) for path in unique]
    loader = _load_duckdb if warehouse.backend == "duckdb" else _load_postgres
    with load_progress(progress, spec.name, len(inputs)) as advance:
        rows_read, rows_added, changes = loader(warehouse, spec, inputs, advance)
    return LoadResult(
        table=spec.name,
        files=tuple(item.path for item in inputs),
        rows_read=rows_read,
        rows_added=rows_added,
        changes=changes,
    )


def _load_duckdb(
    warehouse: Warehouse, spec: RawTable, inputs: list[InputFile], advance: Callable
) -> tuple[int, int, EntityChanges]:
    import duckdb

    try:
        con = connect(warehouse)
    except duckdb.Error as error:
        raise LoadError(f"cannot open the DuckDB warehouse: {first_line(error)}") from None
    try:
        _utc(con, keep_order=spec.name != "heartbeats")
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(spec.create_sql())
        before = _count(con, spec)
        direct = _loads_directly(spec, before)
        if not direct:
            con.execute(stage_sql(spec, duck_types=True))
        rows_read = 0
        for index, item in enumerate(inputs):
            reset_rejects(con)
            sink = spec.qualified_name if direct else STAGE
            columns = _sink_columns(spec, direct)
            select = select_sql(item, spec, None if direct else index, row_numbers=_numbered(spec))
            try:
                inserted = con.execute(f"insert into {sink} ({columns}) {select}", [str(item.path)])
                rows_read += inserted.fetchone()[0]
            except duckdb.Error as error:
                con.rollback()
                _explain(con, item, spec, error)
            raise_for_csv_rejects(con, item)
            advance()
        changes = EntityChanges()
        if not direct:
            _check_keys(con, spec, inputs)
            if spec.name == "heartbeats":
                for statement in merge_statements(spec, "duckdb"):
                    con.execute(statement)
            else:
                changes = _replace_entities(con, spec)
        added = _count(con, spec) - before
        if not direct:
            con.execute(f"drop table {STAGE}")
        con.commit()
        return rows_read, added, changes
    except duckdb.Error as error:
        _rollback(con)
        raise LoadError(f"DuckDB refused the load: {first_line(error)}") from None
    except BaseException:
        _rollback(con)
        raise
    finally:
        con.close()


def _load_postgres(
    warehouse: Warehouse, spec: RawTable, inputs: list[InputFile], advance: Callable
) -> tuple[int, int, EntityChanges]:
    import duckdb
    import psycopg

    duck = duckdb.connect()
    _utc(duck, keep_order=spec.name != "heartbeats")
    try:
        pg = connect(warehouse)
    except psycopg.Error as error:
        duck.close()
        raise LoadError(f"cannot connect to PostgreSQL: {first_line(error)}") from None
    try:
        with pg.cursor() as cur:
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
            before = _count(cur, spec) if spec.name != "heartbeats" else _has_rows(cur, spec)
            direct = _loads_directly(spec, before)
            # the indexes the merge probes exist before it; in an empty table the big
            # ones are built after the rows, not row by row
            for statement in create_index_statements(spec):
                cur.execute(statement)
            if direct:
                for statement in drop_bulk_index_statements(spec):
                    cur.execute(statement)
            else:
                cur.execute(stage_sql(spec, duck_types=False) + " on commit drop")
            rows_read = 0
            for index, item in enumerate(inputs):
                rows_read += _copy_file(duck, cur, spec, item, None if direct else index)
                advance()
            changes = EntityChanges()
            if direct:
                added = rows_read
            else:
                _check_keys(cur, spec, inputs)
                cur.execute(f"analyze {STAGE}")
                added = 0
                if spec.name == "heartbeats":
                    for statement in merge_statements(spec, "postgres"):
                        cur.execute(statement)
                        added += max(cur.rowcount, 0)
                else:  # upserts replace rows: count what is new
                    changes = _replace_entities(cur, spec)
                    added = _count(cur, spec) - before
            if direct:
                for statement in create_index_statements(spec):
                    cur.execute(statement)
                # fresh statistics, or the next load's duplicate check scans everything
                cur.execute(f"analyze {spec.qualified_name}")
        pg.commit()
        return rows_read, added, changes
    except psycopg.Error as error:
        _rollback(pg)
        raise LoadError(f"PostgreSQL refused the load: {first_line(error)}") from None
    except BaseException:
        _rollback(pg)
        raise
    finally:
        pg.close()
        duck.close()


def _numbered(spec: RawTable) -> bool:
    """Entity rows carry their position in the file: the last row of a repeated id wins."""
    return spec.name != "heartbeats"


def _replace_entities(cur: Any, spec: RawTable) -> EntityChanges:
    """Replace earlier rows of the staged ids (last row loaded wins); count what changed."""
    cur.execute(repeated_keys_sql(spec))
    repeated = int(cur.fetchone()[0] or 0)
    cur.execute(latest_sql(spec))
    cur.execute(entity_changes_sql(spec))
    replaced, moved, rezoned = (int(value or 0) for value in cur.fetchone())
    for statement in replace_statements(spec):
        cur.execute(statement)
    return EntityChanges(replaced=replaced, moved=moved, rezoned=rezoned, repeated=repeated)


def _loads_directly(spec: RawTable, rows_before: int) -> bool:
    """Heartbeats into an empty table need no comparison: write them straight into raw.

    This is the big first load (tens of millions of rows), where a stage and
    a merge would double the work. Entities always go through the stage: the
    upsert also settles repeated keys between files.
    """
    return spec.name == "heartbeats" and rows_before == 0


def _sink_columns(spec: RawTable, direct: bool) -> str:
    columns = ", ".join(f'"{name}"' for name in spec.column_names)
    if direct:
        return columns
    return f"{columns}, _file, _row" if _numbered(spec) else f"{columns}, _file"


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
    select = select_sql(item, spec, index, row_numbers=_numbered(spec) and not direct)
    try:
        result = duck.execute(select, [str(item.path)])
        # to_arrow_reader is the newer name (duckdb >= 1.4) of fetch_record_batch
        reader = getattr(result, "to_arrow_reader", result.fetch_record_batch)(COPY_BATCH_ROWS)
        columns = _sink_columns(spec, direct)
        # a queued writer sends on its own thread while this one parses and encodes
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
        _explain(duck, item, spec, error)
    raise_for_csv_rejects(duck, item)
    return rows


def _explain(duck: Any, item: InputFile, spec: RawTable, error: Exception) -> None:
    """Turn a reader failure into a ``LoadError`` naming the file, row and column."""
    if item.file_format == "parquet":
        raise_for_parquet_values(duck, item, spec, error)
    raise_for_csv_values(duck, item, spec, error)


def _check_keys(cur: Any, spec: RawTable, inputs: list[InputFile]) -> None:
    """Entity rows need their key: without it the row can be neither upserted nor joined."""
    if spec.name == "heartbeats":
        return
    cur.execute(missing_key_sql(spec))
    found = cur.fetchone()[0]
    if found is not None:
        item = inputs[int(found)]
        raise LoadError(
            f"{item.path}: {_first_missing_key(item, spec)}, column {spec.key}: "
            f"the {spec.key} is missing (every raw.{spec.name} row needs one)"
        )


def _first_missing_key(item: InputFile, spec: RawTable) -> str:
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
    import csv
    import gzip

    opener = gzip.open if item.path.name.lower().endswith(".gz") else open
    with opener(item.path, "rt", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            if not record.get(spec.key):
                return f"line {reader.line_num}"
    return "a row"


def _has_rows(cur: Any, spec: RawTable) -> int:
    """1 when the table holds any row, else 0 (cheap on a large table)."""
    cur.execute(f"select exists (select 1 from {spec.qualified_name})")
    return int(bool(cur.fetchone()[0]))


def _count(cur: Any, spec: RawTable) -> int:
    cur.execute(f"select count(*) from {spec.qualified_name}")
    return int(cur.fetchone()[0])


def _utc(duck: Any, *, keep_order: bool) -> None:
    """Zoned timestamps become naive UTC, whatever the machine's zone.

    Heartbeat row order carries no meaning, so DuckDB may insert them in
    parallel; entity rows keep file order (the last row of a repeated id wins).
    """
    with contextlib.suppress(Exception):  # no ICU: nothing zoned to convert then
        duck.execute("set TimeZone = 'UTC'")
    duck.execute(f"set preserve_insertion_order = {'true' if keep_order else 'false'}")


def _rollback(con: Any) -> None:
    with contextlib.suppress(Exception):
        con.rollback()
