"""Reading marts out of a built warehouse as Arrow record batches, a bounded batch at a time.

Why Arrow: a serving store is filled from the warehouse by DuckDB (which scans an Arrow
stream without converting rows in Python) or by PostgreSQL's COPY (fed CSV that Arrow's
C++ writer produces), so rows never pass through Python objects one by one where the
source can hand over columns. Why batches: the fact tables are the size of the history;
publishing must not hold one in memory.

* DuckDB: ``fetch_record_batch`` streams the result.
* PostgreSQL: a server-side (named) cursor, fetched ``batch_rows`` at a time and turned
  into columns with the Arrow type of each column's PostgreSQL type.
* Spark (Spark Connect): ``DataFrame.toArrow()`` per slice; a table with a day column and
  more than ``SPARK_SLICE_ROWS`` rows is read a month at a time, so one slice is bounded
  by a month of data (or by ``SPARK_SLICE_ROWS`` for a smaller table).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from daybook.config import Warehouse
from daybook.raw_schema import newest_received_sql

BATCH_ROWS = 100_000
# A Spark result is collected whole (Arrow), so a larger table is read a month at a time;
# each slice costs a Spark query (about 0.3 s or more), so small tables are read at once.
SPARK_SLICE_ROWS = 1_000_000

# PostgreSQL type OIDs of the marts' columns, and their Arrow types.
_PG_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1043: pa.string(),
    1042: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    2950: pa.string(),
}


class Source:
    """A connection to the warehouse being published, with one way to stream a query."""

    def __init__(self, warehouse: Warehouse, connection: Any) -> None:
        self.warehouse = warehouse
        self.con = connection

    @property
    def placeholder(self) -> str:
        return "%s" if self.warehouse.backend == "postgres" else "?"

    def scalar(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        cursor = self.con.cursor()
        cursor.execute(sql, list(parameters))
        row = cursor.fetchone()
        return row[0] if row else None

    def columns(self, table: str) -> list[str]:
        """The columns of mart ``table`` in order (a zero-row query, any backend)."""
        cursor = self.con.cursor()
        cursor.execute(f"select * from {table} where 1 = 0")
        return [column[0] for column in cursor.description]

    def batches(
        self, sql: str, parameters: Sequence[Any] = (), *, batch_rows: int = BATCH_ROWS
    ) -> pa.RecordBatchReader:
        """The rows of ``sql`` as an Arrow stream of batches of at most ``batch_rows``."""
        backend = self.warehouse.backend
        if backend == "duckdb":
            cursor = self.con.cursor()
            return cursor.execute(sql, list(parameters)).to_arrow_reader(batch_rows)
        if backend == "postgres":
            return _postgres_batches(self.con, sql, parameters, batch_rows)
        return _spark_batches(self.con, sql, parameters)

    def table_batches(
        self, table: str, order: Sequence[str] = (), where: str = "", parameters: Sequence = ()
    ) -> pa.RecordBatchReader:
        """Every row of ``table`` (``where`` filters), sorted by ``order`` where the source
        sorts cheaply (DuckDB, PostgreSQL through the index of that order)."""
        sql = f"select * from {table}" + (f" where {where}" if where else "")
        if order and self.warehouse.backend != "spark":
            sql += f" order by {', '.join(order)}"
        if self.warehouse.backend == "spark" and "activity_date" in self.columns(table):
            rows = self.scalar(f"select count(*) from ({sql}) as whole", parameters)
            if rows > SPARK_SLICE_ROWS:
                return _spark_by_month(self, sql, "activity_date", parameters)
        return self.batches(sql, parameters)


@contextmanager
def open_source(warehouse: Warehouse) -> Iterator[Source]:
    """A read connection to the warehouse for one publish (read-only where it can be)."""
    from daybook.warehouse import connect

    con = connect(warehouse, read_only=warehouse.backend != "duckdb")
    if warehouse.backend == "postgres":
        from psycopg import IsolationLevel

        con.isolation_level = IsolationLevel.REPEATABLE_READ  # one snapshot for the publish
    try:
        yield Source(warehouse, con)
    finally:
        if warehouse.backend == "postgres":
            con.rollback()
        con.close()


def _postgres_batches(
    con: Any, sql: str, parameters: Sequence[Any], batch_rows: int
) -> pa.RecordBatchReader:
    """``COPY (sql) TO STDOUT`` as CSV, parsed by Arrow's streaming CSV reader into typed
    batches: the rows never become Python objects, and memory holds one block at a time.

    The column types come from a zero-row run of the query (its description's type OIDs).
    PostgreSQL writes NULL as an unquoted empty field and an empty string as ``""``, which
    Arrow reads back as null and empty respectively, and booleans as ``t``/``f``.
    """
    import pyarrow.csv as pa_csv
    from psycopg import sql as pg_sql

    probe = con.cursor()
    probe.execute(f"select * from ({sql}) as probe where false", list(parameters))
    schema = pa.schema(
        [
            pa.field(column.name, _PG_ARROW.get(column.type_code, pa.string()))
            for column in probe.description or []
        ]
    )
    probe.close()
    statement = pg_sql.SQL("copy ({}) to stdout (format csv)").format(
        pg_sql.SQL(sql).format() if not parameters else _bound(con, sql, parameters)
    )
    cursor = con.cursor()
    copy_context = cursor.copy(statement)
    copy = copy_context.__enter__()

    def finish() -> None:
        copy_context.__exit__(None, None, None)
        cursor.close()

    first = bytes(copy.read())
    if not first:  # no rows (Arrow refuses an empty CSV stream)
        finish()
        return pa.RecordBatchReader.from_batches(schema, iter(()))

    class CopyStream(io.RawIOBase):
        """The COPY's bytes as a readable stream for Arrow."""

        def __init__(self) -> None:
            self.pending = first

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            while not self.pending:
                chunk = copy.read()
                if not chunk:
                    return 0
                self.pending = bytes(chunk)
            size = min(len(buffer), len(self.pending))
            buffer[:size] = self.pending[:size]
            self.pending = self.pending[size:]
            return size

    try:
        reader = pa_csv.open_csv(
            io.BufferedReader(CopyStream(), buffer_size=1 << 20),
            read_options=pa_csv.ReadOptions(
                column_names=schema.names, block_size=8 << 20, use_threads=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                timestamp_parsers=[pa_csv.ISO8601],
                true_values=["t"],
                false_values=["f"],
            ),
        )
    except BaseException:
        finish()
        raise

    def generate() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                yield batch.cast(schema) if batch.schema != schema else batch
        finally:
            finish()

    return pa.RecordBatchReader.from_batches(schema, generate())


def _bound(con: Any, sql: str, parameters: Sequence[Any]) -> Any:
    """``sql`` with its ``%s`` parameters bound as literals (COPY takes no parameters),
    quoted by psycopg itself."""
    from psycopg import sql as pg_sql

    literals = [pg_sql.Literal(value) for value in parameters]
    return pg_sql.SQL(sql.replace("%s", "{}")).format(*literals)


def _spark_batches(con: Any, sql: str, parameters: Sequence[Any]) -> pa.RecordBatchReader:
    """One Spark query's rows as Arrow (Spark Connect returns them as Arrow already)."""
    from daybook.spark.dbapi import _naive_utc

    session = con.session
    frame = session.sql(sql, args=list(parameters)) if parameters else session.sql(sql)
    table = _naive_utc(frame.toArrow())
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(BATCH_ROWS))


def _spark_by_month(
    source: Source, sql: str, day_column: str, parameters: Sequence[Any]
) -> pa.RecordBatchReader:
    """A Spark table read a month of ``day_column`` at a time (one month in memory)."""
    low, high = (
        source.con.cursor()
        .execute(
            f"select min({day_column}), max({day_column}) from ({sql}) as whole", list(parameters)
        )
        .fetchone()
    )
    first = _spark_batches(source.con, f"select * from ({sql}) as whole where 1 = 0", parameters)
    schema = first.schema
    if low is None:
        return pa.RecordBatchReader.from_batches(schema, iter(()))

    def months() -> Iterator[pa.RecordBatch]:
        start = date(low.year, low.month, 1)
        while start <= high:
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            sliced = (
                f"select * from ({sql}) as whole where {day_column} >= date'{start}' "
                f"and {day_column} < date'{end}'"
            )
            yield from _spark_batches(source.con, sliced, parameters)
            start = end

    return pa.RecordBatchReader.from_batches(schema, months())


def newest_in_source(source: Source) -> datetime | None:
    """The newest heartbeat the warehouse's marts include, warehouse-wide (recorded with
    the publication; the API's ``Last-Modified`` is each client's own): the first of
    :data:`~daybook.serving.freshness.FRESHNESS_SOURCES` that answers."""
    from daybook.serving._util import _as_utc
    from daybook.serving.freshness import FRESHNESS_SOURCES, newest_included

    if source.warehouse.backend != "spark":
        return newest_included(source.con, source.warehouse.backend)
    for schema, table in FRESHNESS_SOURCES:
        try:
            value = source.scalar(newest_received_sql(f"{schema}.{table}"))
        except Exception:  # not built there: the next source
            continue
        return _as_utc(value) if value is not None else None
    return None


def check_tables(source: Source, tables: Iterable[str]) -> None:
    """Refuse to publish a warehouse missing a served mart (not built yet)."""
    from daybook.serving.pointer import ServingError

    missing = []
    for name in tables:
        try:
            source.columns(name)
        except Exception:
            missing.append(name)
            if source.warehouse.backend == "postgres":
                source.con.rollback()
    if missing:
        raise ServingError(
            f"cannot publish: tables {', '.join(missing)} are missing from the warehouse; "
            "run `daybook build` first"
        )
