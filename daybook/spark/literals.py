"""Spark SQL literals for values the code itself read or made, never request text.

Where Spark must see a value as a constant (so parquet statistics skip files, or a
view's text carries it), it is written into the statement; request values are still
bound as parameters (``daybook.spark.dbapi``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

SparkTimestampType = Literal["timestamp", "timestamp_ntz"]


def timestamp_literal(value: datetime | None, spark_type: SparkTimestampType) -> str:
    """A typed timestamp literal; a zoned value is written as its UTC wall time.

    Microseconds are always written, so the literal equals the value exactly.
    """
    if value is None:
        return f"cast(null as {spark_type})"
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return f"{spark_type}'{naive:%Y-%m-%d %H:%M:%S.%f}'"
