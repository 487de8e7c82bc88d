"""Helpers of the ``load_files`` tests: expected rows read from the files independently of the
loader (pyarrow, the csv module), raw tables read back, damaged CSV copies, refusal checks."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support import read_table

from daybook.config import Warehouse
from daybook.load import LoadError, LoadResult, load_files
from daybook.raw_schema import RAW_TABLES

TABLES = ("clients", "users", "devices", "heartbeats")


# --- expected values, read independently of the loader --------------------------------------


def file_rows(table: str, paths: list[Path]) -> list[tuple]:
    """Rows of the files as tuples in contract column order, typed like the warehouse returns."""
    spec = RAW_TABLES[table]
    out = []
    for path in paths:
        if path.suffix == ".parquet":
            for row in pq.read_table(path).to_pylist():
                out.append(tuple(row[name] for name in spec.column_names))
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                out.append(tuple(_typed(record[name], kind) for name, kind in spec.columns))
    return out


def _typed(text: str, kind: str) -> object:
    if text == "":
        return None
    if kind == "timestamp":
        return datetime.fromisoformat(text)
    if kind == "double precision":
        return float(text)
    return text


def table_rows(warehouse: Warehouse, table: str) -> list[tuple]:
    names = RAW_TABLES[table].column_names
    return [
        tuple(row[name] for name in names)
        for row in read_table(warehouse, f"select * from raw.{table}")
    ]


def counts(warehouse: Warehouse) -> dict[str, int | None]:
    """Row count of every raw table (None when it does not exist yet)."""
    out = {}
    for table in TABLES:
        try:
            out[table] = read_table(warehouse, f"select count(*) as n from raw.{table}")[0]["n"]
        except Exception:
            out[table] = None
    return out


def bag(rows: list[tuple]) -> Counter:
    return Counter(rows)


def load_all(warehouse: Warehouse, files: dict[str, list[Path]]) -> dict[str, LoadResult]:
    return {table: load_files(warehouse, table, files[table]) for table in TABLES}


# --- refused files ------------------------------------------------------------------------


def write_csv(
    path: Path, columns: list[str], records: list[dict], quoting: int = csv.QUOTE_MINIMAL
) -> Path:
    """A CSV file; an unquoted empty field is NULL, a quoted one ("") an empty string."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, quoting=quoting)
        writer.writeheader()
        writer.writerows(records)
    return path


def csv_records(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def damaged(csv_path: Path, out: Path, line: int, column: str, value: str) -> Path:
    """A copy of a CSV file with ``value`` in ``column`` on file line ``line`` (header = 1)."""
    columns, records = csv_records(csv_path)
    records[line - 2][column] = value
    return write_csv(out, columns, records)


def assert_refused(warehouse, table, files, *fragments):
    before = counts(warehouse)
    with pytest.raises(LoadError) as refused:
        load_files(warehouse, table, files)
    message = str(refused.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert counts(warehouse) == before
    return message
