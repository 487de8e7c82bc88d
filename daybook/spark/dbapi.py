"""A small DB-API 2.0 surface over a Spark Connect session, for code written against one.

``daybook.warehouse.connect`` returns :class:`SparkConnection` for an ``sc://`` warehouse,
so readers written for DuckDB and psycopg (tests' ``read_table``, the token CLI's client
check) work unchanged. Parameters are Spark's own markers, bound server-side, never
formatted into the text: ``?`` with a sequence (``paramstyle = "qmark"``, as DuckDB) or
``:name`` with a mapping.

Spark has no transactions: ``commit`` and ``rollback`` do nothing, each statement takes
effect when it runs. Results come back as Arrow (one round trip for schema and rows);
zoned timestamps are returned naive in UTC, as the other backends return them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from daybook.spark.session import open_session

paramstyle = "qmark"


class SparkCursor:
    """Runs one statement at a time on the connection's session; rows are fetched eagerly."""

    arraysize = 1

    def __init__(self, session: Any) -> None:
        self._session = session
        self._rows: list[tuple] = []
        self.description: list[tuple] | None = None
        self.rowcount = -1

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None):
        """Run ``sql`` (DDL runs when called, as Spark does); a query's rows are read now."""
        if parameters is None:
            frame = self._session.sql(sql)
        elif isinstance(parameters, Mapping):
            frame = self._session.sql(sql, args=dict(parameters))
        else:
            frame = self._session.sql(sql, args=list(parameters))
        table = _naive_utc(frame.toArrow())
        self.description = [
            (field.name, str(field.type), None, None, None, None, field.nullable)
            for field in table.schema
        ]
        columns = [column.to_pylist() for column in table.columns]
        self._rows = list(zip(*columns, strict=True)) if columns else []
        self.rowcount = len(self._rows)
        return self

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        count = size or self.arraysize
        out, self._rows = self._rows[:count], self._rows[count:]
        return out

    def fetchall(self) -> list[tuple]:
        out, self._rows = self._rows, []
        return out

    def close(self) -> None:
        self._rows = []

    def __enter__(self) -> SparkCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SparkConnection:
    """One Spark Connect session; closing the connection releases the session on the server."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def cursor(self) -> SparkCursor:
        return SparkCursor(self.session)

    def execute(self, sql: str, parameters: Any = None) -> SparkCursor:
        """DuckDB's shortcut: a new cursor that ran ``sql``."""
        return self.cursor().execute(sql, parameters)

    def commit(self) -> None:
        """Nothing to do: each Spark statement takes effect when it runs."""

    def rollback(self) -> None:
        """Nothing to undo (see the module doc); callers stage their work instead."""

    def close(self) -> None:
        self.session.stop()

    def __enter__(self) -> SparkConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url: str) -> SparkConnection:
    """A DB-API connection to the Spark Connect server at ``url``."""
    return SparkConnection(open_session(url))


def _naive_utc(table: Any) -> Any:
    """Zoned timestamp columns as naive UTC (Spark's TIMESTAMP type comes back zoned)."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            field = field.with_type(pa.timestamp(field.type.unit))
        fields.append(field)
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)
