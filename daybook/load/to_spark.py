"""Loading into Spark (``sc://``): files parsed by an in-memory DuckDB, staged, then published.

The files are read and checked exactly as for PostgreSQL (``daybook.load.reading``: the
same header, UTF-8, timestamp and number rules and the same errors), and sent through the
Spark Connect session as Arrow batches into a stage table (parquet) in ``raw``. Only when
every file is staged and the entity keys are checked does ``raw`` change, by one append
(heartbeats) or one swap of table names (entities): ``daybook.load.spark_sql`` says why
that is all-or-nothing without transactions. The stage and its views are dropped whatever
happens.

One loader at a time per table: Spark has no locks, and two entity loads swapping the same
table at once would keep only one of them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from daybook.cli_errors import first_line
from daybook.config import Warehouse
from daybook.load import spark_sql
from daybook.load.errors import LoadError
from daybook.load.files import InputFile
from daybook.load.read_failures import raise_for_csv_rejects
from daybook.load.reading import reset_rejects, select_sql
from daybook.load.result import EntityChanges
from daybook.load.steps import explain, numbered, use_utc
from daybook.raw_schema import RAW_SCHEMA, RawTable

# rows per Arrow batch sent to Spark: about 50 MB of heartbeats, one append job each
SEND_BATCH_ROWS = 250_000


def load_spark(
    warehouse: Warehouse, spec: RawTable, inputs: list[InputFile], advance: Callable[[], None]
) -> tuple[int, int, EntityChanges]:
    """Load ``inputs`` into ``spec``'s raw table: (rows read, rows added, entity changes)."""
    import duckdb

    from daybook.spark.session import open_session

    try:
        session = open_session(warehouse.url)
    except Exception as error:  # the message names host and port, never the URL's token
        raise LoadError(f"cannot open a Spark session: {first_line(error)}") from None
    duck = duckdb.connect()
    use_utc(duck, keep_order=spec.name != "heartbeats")
    token = uuid.uuid4().hex[:12]
    stage = spark_sql.stage_name(spec, token)
    try:
        session.sql(f"create database if not exists {spark_sql.STAGE_SCHEMA}")
        session.sql(spark_sql.create_stage_sql(spec, stage))
        session.sql(
            f"create or replace temporary view {spark_sql.STAGE_VIEW} as select * from {stage}"
        )
        rows_read = 0
        for index, item in enumerate(inputs):
            rows_read += _send_file(duck, session, spec, item, index, stage)
            advance()
        if spec.name != "heartbeats":
            _check_entity_keys(session, spec, inputs)
        # every file is staged and checked: only now does raw change (or come into being)
        session.sql(f"create database if not exists {RAW_SCHEMA}")
        session.sql(spark_sql.create_raw_sql(spec))
        before = _count(session, spec.qualified_name)
        if spec.name == "heartbeats":
            span = _received_span(session, stage) if before > 0 else None
            session.sql(spark_sql.append_heartbeats_sql(spec, stage, compare=span))
            changes = EntityChanges()
        else:
            changes = _replace_entities(session, spec, token)
        added = _count(session, spec.qualified_name) - before
    except LoadError:
        raise
    except Exception as error:
        if not _is_spark_error(error):
            raise
        raise LoadError(f"Spark refused the load: {first_line(error)}") from None
    finally:
        _drop_quietly(session, f"drop table if exists {stage}")
        session.stop()
        duck.close()
    return rows_read, added, changes


def _send_file(
    duck: Any, session: Any, spec: RawTable, item: InputFile, index: int, stage: str
) -> int:
    """Read one file with DuckDB's checked reader and append it to the stage, batch by batch."""
    import duckdb
    import pyarrow as pa

    reset_rejects(duck)
    tagged = spec.name != "heartbeats"
    select = select_sql(item, spec, index if tagged else None, row_numbers=numbered(spec))
    schema = _stage_schema(spec, tagged)
    rows = 0
    try:
        result = duck.execute(select, [str(item.path)])
        reader = getattr(result, "to_arrow_reader", result.fetch_record_batch)(SEND_BATCH_ROWS)
        for batch in reader:
            if batch.num_rows:
                frame = session.createDataFrame(pa.Table.from_batches([batch]), schema=schema)
                frame.write.insertInto(stage)
                rows += batch.num_rows
    except (duckdb.Error, pa.ArrowException, OSError) as error:
        explain(duck, item, spec, error)
    raise_for_csv_rejects(duck, item)
    return rows


def _stage_schema(spec: RawTable, tagged: bool) -> Any:
    from pyspark.sql import types

    kinds = {
        "STRING": types.StringType(),
        "TIMESTAMP_NTZ": types.TimestampNTZType(),
        "DOUBLE": types.DoubleType(),
    }
    fields = [
        types.StructField(name, kinds[spark_sql.spark_type(sql_type)], True)
        for name, sql_type in spec.columns
    ]
    if tagged:
        fields += [
            types.StructField("_file", types.IntegerType(), True),
            types.StructField("_row", types.IntegerType(), True),
        ]
    return types.StructType(fields)


def _check_entity_keys(session: Any, spec: RawTable, inputs: list[InputFile]) -> None:
    """Entity rows need their key: without it the row can be neither upserted nor joined."""
    from daybook.load.steps import first_missing_key

    found = _scalar(session, spark_sql.missing_key_sql(spec))
    if found is not None:
        item = inputs[int(found)]
        raise LoadError(
            f"{item.path}: {first_missing_key(item, spec)}, column {spec.key}: "
            f"the {spec.key} is missing (every raw.{spec.name} row needs one)"
        )


def _replace_entities(session: Any, spec: RawTable, token: str) -> EntityChanges:
    """Count what changes, write the next table under a new name and swap it in."""
    repeated = int(_scalar(session, spark_sql.repeated_keys_sql(spec)) or 0)
    session.sql(spark_sql.latest_view_sql(spec))
    row = session.sql(spark_sql.entity_changes_sql(spec)).collect()[0]
    replaced, moved, rezoned = (int(value or 0) for value in row)
    new_name = f"{RAW_SCHEMA}.`{spec.name}__new_{token}`"
    old_name = f"{RAW_SCHEMA}.`{spec.name}__old_{token}`"
    try:
        session.sql(spark_sql.replaced_table_sql(spec, new_name))
        _swap(session, spec.qualified_name, new_name, old_name)
    finally:
        _drop_quietly(session, f"drop table if exists {new_name}")
    _drop_quietly(session, f"drop table if exists {old_name}")
    return EntityChanges(replaced=replaced, moved=moved, rezoned=rezoned, repeated=repeated)


def _swap(session: Any, current: str, new_name: str, old_name: str) -> None:
    """Put ``new_name`` in ``current``'s place; on a failed second rename, put the old one back."""
    session.sql(f"alter table {current} rename to {old_name}")
    try:
        session.sql(f"alter table {new_name} rename to {current}")
    except Exception:
        session.sql(f"alter table {old_name} rename to {current}")
        raise


def _received_span(session: Any, stage: str) -> spark_sql.ReceivedSpan:
    first, last, has_null = session.sql(spark_sql.received_span_sql(stage)).collect()[0]
    return spark_sql.ReceivedSpan(first=first, last=last, has_null=bool(has_null))


def _scalar(session: Any, sql: str) -> Any:
    return session.sql(sql).collect()[0][0]


def _count(session: Any, table: str) -> int:
    return int(_scalar(session, f"select count(*) from {table}"))


def _drop_quietly(session: Any, sql: str) -> None:
    # cleanup, also of a failed load: the load's own error is what matters
    with contextlib.suppress(Exception):
        session.sql(sql)


def _is_spark_error(error: BaseException) -> bool:
    from pyspark.errors import PySparkException

    return isinstance(error, PySparkException) or type(error).__module__.startswith("grpc")
