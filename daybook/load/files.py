"""Recognising input files and checking their header against the contract.

The header is checked before any data is read so that a file with a missing
or unexpected column is refused with the exact column names, instead of a
type error deep inside a bulk reader. A CSV file's bytes are checked too
(``daybook.load.bytescan``): text must be UTF-8 without NUL bytes, which
DuckDB's CSV reader does not promise to refuse and PostgreSQL cannot store.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from daybook.load.bytescan import check_csv_bytes, open_binary
from daybook.load.errors import LoadError
from daybook.raw_schema import RawTable

FileFormat = Literal["csv", "parquet"]
_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_HEADER_LIMIT = 1 << 20  # a header line longer than 1 MiB is not a header


@dataclass(frozen=True)
class InputFile:
    """A file to load: its path, format, column names in file order and its text columns.

    ``text_columns``: columns stored as strings (every CSV column; Parquet
    string columns), whose timestamps are parsed with the offset rule and whose
    text is checked for NUL bytes.
    """

    path: Path
    file_format: FileFormat
    columns: tuple[str, ...]
    text_columns: frozenset[str] = frozenset()


def inspect_file(path: Path, table: RawTable) -> InputFile:
    """Recognise ``path`` and check its columns are exactly the contract's (any order)."""
    path = Path(path)
    if path.is_dir():
        raise LoadError(
            f"{path}: is a folder, not a file: name the files to load, e.g. "
            f"{path / _pattern_inside(path, table.name)} (the shell expands the pattern)"
        )
    if not path.is_file():
        raise LoadError(f"{path}: file not found")
    file_format = _format_of(path)
    if file_format == "csv":
        columns = _csv_header(path)
        _check_columns(path, columns, table)
        check_csv_bytes(path, columns)
        return InputFile(path, file_format, columns, frozenset(columns))
    columns, text_columns = _parquet_columns(path)
    _check_columns(path, columns, table)
    return InputFile(path, file_format, columns, text_columns)


def _pattern_inside(folder: Path, table: str) -> str:
    """A file pattern for the loadable files in ``folder``: the table's own when there are
    some (``heartbeats*.parquet``), else any (``*.csv``), else ``*.parquet``."""
    try:
        names = sorted(child.name.lower() for child in folder.iterdir())
    except OSError:
        names = []
    loadable = [(name, suffix) for name in names for suffix in _SUFFIXES if name.endswith(suffix)]
    for name, suffix in loadable:
        if name.startswith(table):
            return f"{table}*{suffix}"
    return f"*{loadable[0][1]}" if loadable else "*.parquet"


def _format_of(path: Path) -> FileFormat:
    name = path.name.lower()
    for suffix, file_format in _SUFFIXES.items():
        if name.endswith(suffix):
            return file_format
    known = ", ".join(_SUFFIXES)
    raise LoadError(f"{path}: unknown file type (expected one of {known})")


def _csv_header(path: Path) -> tuple[str, ...]:
    """The first line's fields. Only that line is decoded: a bad byte later is not the header's."""
    try:
        with open_binary(path) as handle:
            first = handle.readline(_HEADER_LIMIT)
    except (OSError, EOFError, zlib.error) as error:
        raise LoadError(f"{path}: cannot read the file ({error})") from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadError(
            f"{path}: line 1 (the header): byte 0x{first[error.start]:02x} at position "
            f"{error.start + 1} is not UTF-8 (save the file as UTF-8)"
        ) from None
    try:
        header = next(csv.reader([text.rstrip("\r\n")]), None)
    except csv.Error as error:
        if "\r" in text and not text.endswith("\n"):  # lines end with CR alone (classic Mac)
            raise LoadError(
                f"{path}: line 1 (the header): ends with CR alone; a CSV file's lines must "
                "end with LF or CRLF"
            ) from None
        raise LoadError(f"{path}: line 1 (the header): {error}") from None
    if not header or header == [""]:
        raise LoadError(f"{path}: line 1: the file has no header row")
    return tuple(header)


def _parquet_columns(path: Path) -> tuple[tuple[str, ...], frozenset[str]]:
    try:
        schema = pq.read_schema(path)
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise LoadError(f"{path}: not a readable Parquet file ({error})") from None
    text = frozenset(field.name for field in schema if _is_text(field.type))
    return tuple(schema.names), text


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_view(kind)


def _check_columns(path: Path, columns: tuple[str, ...], table: RawTable) -> None:
    expected = table.column_names
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    missing = [name for name in expected if name not in columns]
    unexpected = [name for name in columns if name not in expected]
    problems = []
    if missing:
        problems.append("missing column(s): " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected column(s): " + ", ".join(repr(name) for name in unexpected))
    if repeated:
        problems.append("repeated column(s): " + ", ".join(repeated))
    if problems:
        raise LoadError(
            f"{path}: header does not match raw.{table.name}: "
            + "; ".join(problems)
            + f". Expected exactly: {', '.join(expected)} (any order)"
        )
