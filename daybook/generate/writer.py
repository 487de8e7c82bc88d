"""Writing generated tables as Parquet or CSV in the contract's layout.

CSV timestamps are written ``YYYY-MM-DD HH:MM:SS`` (contract section 1) by
casting to second precision; Parquet keeps microseconds. Repeating ids and
the small counts are dictionary-encoded; random heartbeat ids are stored
without a codec because they do not compress. A ``TableWriter`` appends
batches (row groups) to one file, so files can be larger than a batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv")
_DICTIONARY_COLUMNS = {"client_id", "user_id", "device_id", "timezone", "platform", "name"}


class TableWriter:
    """Appends tables of one schema to ``path`` + the format's suffix."""

    def __init__(self, path: Path, file_format: str) -> None:
        if file_format not in FORMATS:
            raise ValueError(
                f"Unknown file format {file_format!r}: use one of {', '.join(FORMATS)}"
            )
        self.path = path.with_suffix(f".{file_format}")
        self.file_format = file_format
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        self._handle: BinaryIO | None = None

    def write(self, table: pa.Table) -> None:
        if self.file_format == "csv":
            table = _plain(table)
        if self._writer is None:
            self._writer = self._open(table.schema)
        self._writer.write_table(table)

    def close(self) -> Path:
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        return self.path

    def _open(self, schema: pa.Schema) -> pq.ParquetWriter | pacsv.CSVWriter:
        if self.file_format == "csv":
            # a plain header line (pyarrow would quote every name), then the rows
            self._handle = self.path.open("wb")
            self._handle.write((",".join(schema.names) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False)
            return pacsv.CSVWriter(self._handle, schema, write_options=options)
        names = schema.names
        dictionary = [n for n in names if n in _DICTIONARY_COLUMNS or n.endswith("_count")]
        codecs = {n: "none" if n == "heartbeat_id" else "snappy" for n in names}
        # store_schema=False: readers see plain strings, not Arrow dictionary columns
        return pq.ParquetWriter(
            self.path, schema, compression=codecs, use_dictionary=dictionary, store_schema=False
        )


def write_table(table: pa.Table, path: Path, file_format: str) -> Path:
    """Write ``table`` to ``path`` (suffix added from the format) and return the path."""
    writer = TableWriter(path, file_format)
    writer.write(table)
    return writer.close()


def _plain(table: pa.Table) -> pa.Table:
    """Timestamps cast to whole seconds (``YYYY-MM-DD HH:MM:SS``), dictionaries to strings."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            column = table.column(i).cast(pa.timestamp("s"), safe=False)
            table = table.set_column(i, field.name, column)
        elif pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table
