"""Recognising input files and checking their header against the contract.

The header is checked before any data is read so that a file with a missing
or unexpected column is refused with the exact column names, instead of a
type error deep inside a bulk reader.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq

from daybook.load.errors import LoadError
from daybook.raw_schema import RawTable

FileFormat = Literal["csv", "parquet"]
_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class InputFile:
    """A file to load: its path, format and column names in file order."""

    path: Path
    file_format: FileFormat
    columns: tuple[str, ...]


def inspect_file(path: Path, table: RawTable) -> InputFile:
    """Recognise ``path`` and check its columns are exactly the contract's (any order)."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: file not found")
    file_format = _format_of(path)
    columns = _csv_header(path) if file_format == "csv" else _parquet_columns(path)
    _check_columns(path, columns, table)
    return InputFile(path=path, file_format=file_format, columns=columns)


def _format_of(path: Path) -> FileFormat:
    name = path.name.lower()
    for suffix, file_format in _SUFFIXES.items():
        if name.endswith(suffix):
            return file_format
    known = ", ".join(_SUFFIXES)
    raise LoadError(f"{path}: unknown file type (expected one of {known})")


def _csv_header(path: Path) -> tuple[str, ...]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LoadError(f"{path}: cannot read the CSV header ({error})") from None
    if not header:
        raise LoadError(f"{path}: line 1: the file has no header row")
    return tuple(header)


def _parquet_columns(path: Path) -> tuple[str, ...]:
    try:
        return tuple(pq.read_schema(path).names)
    except Exception as error:  # pyarrow raises several types for a non-Parquet file
        raise LoadError(f"{path}: not a readable Parquet file ({error})") from None


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
