"""Reading a file with DuckDB's bulk readers into the contract's types, and explaining failures.

Every file is parsed by DuckDB whatever the target, so CSV and Parquet get
the same typing rules on both backends. CSV uses DuckDB's rejects table to
find the first bad line and column in the same pass; Parquet is cast
strictly and, when that fails, a targeted ``try_cast`` query finds the row.
"""

from __future__ import annotations

from typing import Any

from daybook.load.errors import LoadError
from daybook.load.files import InputFile
from daybook.raw_schema import COUNT, TIMESTAMP, RawTable

REJECTS = "_daybook_rejects"
REJECTS_SCAN = "_daybook_rejects_scan"
_DUCK_TYPES = {"varchar": "VARCHAR", TIMESTAMP: "TIMESTAMP", COUNT: "DOUBLE"}
_KIND_WORDS = {"TIMESTAMP": "a timestamp (YYYY-MM-DD HH:MM:SS)", "DOUBLE": "a number"}


def duck_type(sql_type: str) -> str:
    return _DUCK_TYPES[sql_type]


def select_sql(file: InputFile, table: RawTable, file_index: int | None) -> str:
    """SQL (one ``?`` parameter: the path) selecting the file's rows as contract-typed columns.

    With a ``file_index`` the rows carry it as ``_file`` (for the stage).
    """
    casts = ", ".join(
        f'cast("{name}" as {duck_type(sql_type)}) as "{name}"' for name, sql_type in table.columns
    )
    if file.file_format == "parquet":
        source = "read_parquet(?)"
    else:
        by_name = dict(table.columns)
        spec = ", ".join(f"'{name}': '{duck_type(by_name[name])}'" for name in file.columns)
        source = (
            "read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
            "escape = '\"', allow_quoted_nulls = false, strict_mode = true, "
            f"columns = {{{spec}}}, store_rejects = true, rejects_table = '{REJECTS}', "
            f"rejects_scan = '{REJECTS_SCAN}', rejects_limit = 5)"
        )
    tag = "" if file_index is None else f", {int(file_index)} as _file"
    return f"select {casts}{tag} from {source}"


def reset_rejects(duck: Any) -> None:
    """Forget rejects of an earlier file on this DuckDB connection."""
    duck.execute(f"drop table if exists {REJECTS}")
    duck.execute(f"drop table if exists {REJECTS_SCAN}")


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
        if target == "VARCHAR":
            continue
        try:
            found = duck.execute(
                f'select file_row_number + 1, cast("{name}" as varchar) '
                "from read_parquet(?, file_row_number = true) "
                f'where "{name}" is not null and try_cast("{name}" as {target}) is null '
                "order by file_row_number limit 1",
                [str(file.path)],
            ).fetchone()
        except Exception:
            column_type = _parquet_type(duck, file, name)
            raise LoadError(
                f"{file.path}: column {name}: values of type {column_type} cannot be read as "
                f"{_KIND_WORDS[target]}"
            ) from None
        if found is not None:
            row, value = found
            raise LoadError(
                f"{file.path}: row {row}, column {name}: cannot read {value!r} as "
                f"{_KIND_WORDS[target]}"
            )
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise LoadError(f"{file.path}: cannot read the file ({first_line})")


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
            return f"cannot read {value[0]!r} as {_KIND_WORDS.get(kind, kind.lower())}"
    return text
