"""Writing generated tables as Parquet or CSV in the contract's layout.

CSV timestamps are written ``YYYY-MM-DD HH:MM:SS`` (contract section 1) by
casting to second precision; Parquet keeps microseconds. Only the repeating
id columns are dictionary-encoded: random heartbeat ids do not compress.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv")
_DICTIONARY_COLUMNS = ["client_id", "user_id", "device_id", "timezone", "platform", "name"]


def write_table(table: pa.Table, path: Path, file_format: str) -> Path:
    """Write ``table`` to ``path`` (suffix added from the format) and return the path."""
    path = path.with_suffix(f".{file_format}")
    if file_format == "parquet":
        dictionary = [name for name in table.column_names if name in _DICTIONARY_COLUMNS]
        # store_schema=False: readers see plain strings, not Arrow dictionary columns
        pq.write_table(
            table, path, compression="snappy", use_dictionary=dictionary, store_schema=False
        )
    elif file_format == "csv":
        pacsv.write_csv(_plain(table), path)
    else:
        raise ValueError(f"Unknown file format {file_format!r}: use one of {', '.join(FORMATS)}")
    return path


def _plain(table: pa.Table) -> pa.Table:
    """Timestamps cast to whole seconds (``YYYY-MM-DD HH:MM:SS``), dictionaries to strings."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            column = table.column(i).cast(pa.timestamp("s"), safe=False)
            table = table.set_column(i, field.name, column)
        elif pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table
