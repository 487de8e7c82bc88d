"""Reading a file with DuckDB's bulk readers into the contract's types.

Every file is parsed by DuckDB whatever the target, so CSV and Parquet get
the same typing rules on both backends. CSV keeps DuckDB's rejects table of
the same pass; when a read fails, ``daybook.load.read_failures`` names the
first bad line or row and column.

Timestamps given as text (every CSV timestamp, Parquet string columns) follow
the contract's rule (section 1): without a zone they are UTC; with an
explicit UTC offset (``+05:00``, ``-0330``, ``+05``, ``Z``) they are converted
to UTC; anything else (a zone name, an offset with a space before it, an
impossible date) is refused. Plain ``YYYY-MM-DD HH:MM:SS`` text takes DuckDB's
fast timestamp cast; only text that carries an offset goes through the
zone-aware (slower) parse. Parquet timestamp columns with a time zone are
converted to UTC; naive ones are UTC already. An instant outside the years 1 to 9999
(UTC) is refused too: DuckDB and PostgreSQL hold one, but Python's datetime and Spark
do not, so one such received time stopped every later refresh and publish.

Entity ids (``RawTable.canonical_ids``) must be lowercase canonical UUIDs;
any other text stops the read like an unreadable timestamp, and
``read_failures`` names its line or row.
"""

from __future__ import annotations

import re
from typing import Any

from daybook.load.files import InputFile
from daybook.raw_schema import CANONICAL_UUID, COUNT, TIMESTAMP, RawTable, within_years

REJECTS = "_daybook_rejects"
REJECTS_SCAN = "_daybook_rejects_scan"
_DUCK_TYPES = {"varchar": "VARCHAR", TIMESTAMP: "TIMESTAMP", COUNT: "DOUBLE"}
TIMESTAMP_WORDS = (
    "a UTC timestamp of the years 0001 to 9999 "
    "(YYYY-MM-DD HH:MM:SS, optionally with a UTC offset such as +05:00, -0330 or Z)"
)
KIND_WORDS = {"TIMESTAMP": TIMESTAMP_WORDS, "DOUBLE": "a number"}
# text with an explicit UTC offset: date, optional time, offset of at most 18 hours
OFFSET_PATTERN = (
    r"\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
    r"([zZ]|[+-](0\d|1[0-8])(:?[0-5]\d)?)\s*"
)
NUL_MARK = "daybook: NUL byte"
BAD_TIMESTAMP_MARK = "daybook: not a UTC timestamp"
BAD_ID_MARK = "daybook: not a canonical id"
ID_WORDS = "a lowercase canonical UUID (8-4-4-4-12 hexadecimal digits)"
CANONICAL_PATTERN = re.compile(CANONICAL_UUID)


def duck_type(sql_type: str) -> str:
    return _DUCK_TYPES[sql_type]


def timestamp_from_text(text: str, *, strict: bool = True) -> str:
    """SQL turning the text expression ``text`` into a naive UTC timestamp.

    ``strict``: an unreadable value stops the query (``error()``); otherwise it
    gives NULL, which is how the locators find the first bad value. Empty text
    is NULL, like an empty CSV field.
    """
    value = f"nullif({text}, '')"
    # no '+' anywhere and no '-' after the date: no offset; a leading digit rules out
    # DuckDB's special words (epoch, infinity)
    plain = (
        f"({value} >= '0' and {value} < ':' and not contains({value}, '+') "
        f"and not contains(substr({value}, 11), '-'))"
    )
    offset = f"regexp_full_match({value}, '{OFFSET_PATTERN}')"
    # either way, the instant must lie in the years 1 to 9999: a five-digit year,
    # '9999-12-31 24:00:00', a ' (BC)' suffix or an offset can carry it outside
    if strict:
        as_plain = f"cast({value} as timestamp)"
        converted = f"cast(cast(trim({value}) as timestamptz) as timestamp)"
        return (
            f"case when {value} is null then null "
            f"when {plain} and {within_years(as_plain)} then {as_plain} "
            f"when {offset} and {within_years(converted)} then {converted} "
            f"else error('{BAD_TIMESTAMP_MARK}') end"
        )
    as_plain = f"try_cast({value} as timestamp)"
    converted = f"try_cast(try_cast(trim({value}) as timestamptz) as timestamp)"
    return (
        f"case when {plain} then (case when {within_years(as_plain)} then {as_plain} end) "
        f"when {offset} and {within_years(converted)} then {converted} end"
    )


def timestamp_within_years(timestamp: str) -> str:
    """SQL passing a typed timestamp through, stopping the query at one outside the years
    1 to 9999 (a Parquet timestamp column can hold one)."""
    return (
        f"case when {timestamp} is null or {within_years(timestamp)} then {timestamp} "
        f"else error('{BAD_TIMESTAMP_MARK}') end"
    )


def text_without_nul(text: str) -> str:
    """SQL passing text through, stopping the query at a NUL byte (PostgreSQL cannot store one)."""
    return f"case when contains({text}, chr(0)) then error('{NUL_MARK}') else {text} end"


def canonical_id(text: str) -> str:
    """SQL passing an id through, stopping the query at one that is not a canonical UUID.

    Empty text is NULL (a missing id), however the CSV field was quoted. The
    pattern admits no NUL byte, so this also stands for ``text_without_nul``.
    """
    return (
        f"case when {not_canonical(text)} then error('{BAD_ID_MARK}') else nullif({text}, '') end"
    )


def not_canonical(text: str) -> str:
    """SQL: true when ``text`` is neither empty nor NULL nor a lowercase canonical UUID."""
    return f"not regexp_full_match(nullif({text}, ''), '{CANONICAL_UUID}')"


def _column_sql(file: InputFile, table: RawTable, name: str, sql_type: str) -> str:
    quoted = f'"{name}"'
    text = file.file_format == "csv" or name in file.text_columns
    if name in table.canonical_ids:
        return canonical_id(f"cast({quoted} as VARCHAR)")
    if sql_type == TIMESTAMP and text:
        return timestamp_from_text(quoted)
    if sql_type == "varchar" and file.file_format == "parquet":
        # CSV bytes were checked for NUL before reading (daybook.load.bytescan)
        return text_without_nul(f"cast({quoted} as VARCHAR)")
    if sql_type == TIMESTAMP:
        return timestamp_within_years(f"cast({quoted} as TIMESTAMP)")
    return f"cast({quoted} as {duck_type(sql_type)})"


def _csv_type(sql_type: str) -> str:
    """The type DuckDB's CSV reader gives a column: timestamps stay text for the offset rule."""
    return "VARCHAR" if sql_type == TIMESTAMP else duck_type(sql_type)


def select_sql(
    file: InputFile, table: RawTable, file_index: int | None, *, row_numbers: bool = False
) -> str:
    """SQL (one ``?`` parameter: the path) selecting the file's rows as contract-typed columns.

    With a ``file_index`` the rows carry it as ``_file`` (for the stage); with
    ``row_numbers`` also their position in the file as ``_row`` (the caller keeps
    insertion order, so ``row_number() over ()`` follows the file).
    """
    casts = ", ".join(
        f'{_column_sql(file, table, name, sql_type)} as "{name}"'
        for name, sql_type in table.columns
    )
    if file.file_format == "parquet":
        source = "read_parquet(?)"
    else:
        by_name = dict(table.columns)
        spec = ", ".join(f"'{name}': '{_csv_type(by_name[name])}'" for name in file.columns)
        source = (
            "read_csv(?, header = true, auto_detect = false, delim = ',', quote = '\"', "
            "escape = '\"', allow_quoted_nulls = false, strict_mode = true, "
            f"columns = {{{spec}}}, store_rejects = true, rejects_table = '{REJECTS}', "
            f"rejects_scan = '{REJECTS_SCAN}', rejects_limit = 5)"
        )
    tag = "" if file_index is None else f", {int(file_index)} as _file"
    if row_numbers:
        tag += ", cast(row_number() over () as integer) as _row"
    return f"select {casts}{tag} from {source}"


def reset_rejects(duck: Any) -> None:
    """Forget rejects of an earlier file on this DuckDB connection."""
    duck.execute(f"drop table if exists {REJECTS}")
    duck.execute(f"drop table if exists {REJECTS_SCAN}")
