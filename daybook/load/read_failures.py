"""Explaining a file the load could not read: the first bad line or row, column and value.

The load reads with DuckDB's bulk readers (``daybook.load.reading``), which stop at the
first value they refuse with a message naming neither line nor value. These functions run
only after such a failure: they read DuckDB's rejects table, or read the file again (CSV
with Python's csv module for exact line numbers, Parquet with a query per column) under
the same rules as the load, so what they name is what the load refused.
"""

from __future__ import annotations

import csv
import io
import zlib
from typing import Any

from daybook.cli_errors import first_line
from daybook.load.bytescan import first_mixed_line_end, open_binary
from daybook.load.errors import LoadError
from daybook.load.files import InputFile
from daybook.load.reading import (
    CANONICAL_PATTERN,
    ID_WORDS,
    KIND_WORDS,
    REJECTS,
    TIMESTAMP_WORDS,
    duck_type,
    not_canonical,
    timestamp_from_text,
)
from daybook.raw_schema import TIMESTAMP, RawTable, within_years


def raise_for_csv_rejects(duck: Any, file: InputFile) -> None:
    """Refuse a CSV file whose scan rejected a line, naming the first bad line and column."""
    if file.file_format != "csv":
        return
    found = duck.execute(
        f"select line, column_name, error_type, error_message from {REJECTS} order by line limit 1"
    ).fetchone()
    if found is None:
        return
    line, column, error_type, message = found
    where = f"line {line}" + (f", column {column}" if column else "")
    error_type = str(error_type).upper()
    if error_type == "CAST":
        reason = _cast_reason(message)
    elif error_type in {"TOO MANY COLUMNS", "MISSING COLUMNS"}:
        reason = f"wrong number of fields ({message})"
    else:
        reason = f"{error_type.lower()} ({message})"
    raise LoadError(f"{file.path}: {where}: {reason}")


def raise_for_parquet_values(duck: Any, file: InputFile, table: RawTable, error: Exception) -> None:
    """After a failed strict read, find the first row and column whose value does not convert."""
    for name, sql_type in table.columns:
        target = duck_type(sql_type)
        quoted = f'"{name}"'
        if name in table.canonical_ids:
            bad = not_canonical(f"cast({quoted} as varchar)")
        elif target == "VARCHAR":
            bad = f"contains(cast({quoted} as varchar), chr(0))"
        elif target == "TIMESTAMP" and name in file.text_columns:
            bad = f"{timestamp_from_text(quoted, strict=False)} is null and {quoted} <> ''"
        elif target == "TIMESTAMP":
            typed = f"try_cast({quoted} as TIMESTAMP)"
            bad = f"({typed} is null or not {within_years(typed)})"
        else:
            bad = f"try_cast({quoted} as {target}) is null"
        try:
            found = duck.execute(
                f"select file_row_number + 1, cast({quoted} as varchar) "
                "from read_parquet(?, file_row_number = true) "
                f"where {quoted} is not null and {bad} "
                "order by file_row_number limit 1",
                [str(file.path)],
            ).fetchone()
        except Exception:
            if target == "VARCHAR":
                continue  # the generic message below names the file
            column_type = _parquet_type(duck, file, name)
            raise LoadError(
                f"{file.path}: column {name}: values of type {column_type} cannot be read as "
                f"{KIND_WORDS[target]}"
            ) from None
        if found is not None:
            row, value = found
            if name in table.canonical_ids:
                reason = f"{value!r} is not {ID_WORDS}"
            elif target == "VARCHAR":
                reason = "holds a NUL byte (0x00), which no text column may contain"
            else:
                reason = f"cannot read {value!r} as {KIND_WORDS[target]}"
            raise LoadError(f"{file.path}: row {row}, column {name}: {reason}")
    raise LoadError(f"{file.path}: cannot read the file ({first_line(error)})")


def raise_for_csv_values(duck: Any, file: InputFile, table: RawTable, error: Exception) -> None:
    """After a failed CSV read, find the first line and column holding an unreadable value.

    The file is read again with Python's csv module (exact line numbers). Its
    timestamps are checked in batches by DuckDB with the same rule as the load
    (``timestamp_from_text``), so what is refused here is what the load
    refused; its entity ids against the same pattern the load uses.
    """
    names = [name for name, sql_type in table.columns if sql_type == TIMESTAMP]
    batch: list[tuple[int, str, str]] = []
    try:
        with open_binary(file.path) as raw:
            handle = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.DictReader(handle)
            _ = reader.fieldnames  # reads the header, so line_num counts it
            line = reader.line_num + 1
            for record in reader:
                for name in names:
                    value = record.get(name)
                    if value:
                        batch.append((line, name, value))
                _raise_for_bad_id(duck, file, table, record, line, batch)
                line = reader.line_num + 1
                if len(batch) >= 100_000:
                    _raise_for_bad_timestamp(duck, file, batch)
                    batch = []
    except (csv.Error, OSError, EOFError, zlib.error):
        pass  # Python cannot read it either: DuckDB's own words below
    _raise_for_bad_timestamp(duck, file, batch)
    mixed = first_mixed_line_end(file.path)
    if mixed is not None:
        line, ending, first = mixed
        raise LoadError(
            f"{file.path}: line {line}: ends with {ending} where the lines before end with "
            f"{first}; a CSV file must use one line ending throughout"
        )
    try:
        raise_for_csv_rejects(duck, file)  # a line DuckDB's reader rejected before it stopped
    except LoadError:
        raise
    except Exception:  # no rejects table (rolled back with the load): nothing more to name
        pass
    raise LoadError(f"{file.path}: cannot read the file ({first_line(error)})")


def _raise_for_bad_id(
    duck: Any,
    file: InputFile,
    table: RawTable,
    record: dict[str, str],
    line: int,
    batch: list[tuple[int, str, str]],
) -> None:
    """Refuse the record's first id that is not canonical (after any earlier bad timestamp)."""
    for name in table.canonical_ids:
        value = record.get(name)
        if value is not None and value != "" and not CANONICAL_PATTERN.fullmatch(value):
            _raise_for_bad_timestamp(duck, file, batch)
            raise LoadError(f"{file.path}: line {line}, column {name}: {value!r} is not {ID_WORDS}")


def _raise_for_bad_timestamp(duck: Any, file: InputFile, batch: list[tuple[int, str, str]]) -> None:
    if not batch:
        return
    lines, columns, values = (list(part) for part in zip(*batch, strict=True))
    found = duck.execute(
        "select line, name, value from (select unnest(?::integer[]) as line, "
        "unnest(?::varchar[]) as name, unnest(?::varchar[]) as value) "
        f"where {timestamp_from_text('value', strict=False)} is null order by line limit 1",
        [lines, columns, values],
    ).fetchone()
    if found is not None:
        line, name, value = found
        raise LoadError(
            f"{file.path}: line {line}, column {name}: cannot read {value!r} as {TIMESTAMP_WORDS}"
        )


def _parquet_type(duck: Any, file: InputFile, name: str) -> str:
    try:
        row = duck.execute(
            "select column_type from (describe select * from read_parquet(?)) "
            "where column_name = ?",
            [str(file.path), name],
        ).fetchone()
    except Exception:
        return "unknown"
    return row[0] if row else "unknown"


def _cast_reason(message: str) -> str:
    """'Could not convert string "abc" to 'DOUBLE'' -> "cannot read 'abc' as a number"."""
    text = str(message)
    marker = 'Could not convert string "'
    if marker in text:
        value = text.split(marker, 1)[1].rsplit('" to ', 1)
        if len(value) == 2:
            kind = value[1].strip().strip("'\"").upper()
            return f"cannot read {value[0]!r} as {KIND_WORDS.get(kind, kind.lower())}"
    return text
