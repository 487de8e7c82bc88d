"""Helpers of the command-line load tests: rows written by hand, ``daybook load`` run through
click, refusal checks (exit 1, the words, no traceback or SQL, nothing loaded), and an
independent reading of UTC offsets."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner, Result
from support import read_table

from daybook.config import Warehouse
from daybook.load.cli import load
from daybook.raw_schema import RAW_TABLES
from load.rows import counts

CLIENT = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
OTHER_CLIENT = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
USER = "a1d97031-04e2-4907-a249-093f7436207b"
DEVICE = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"
# what a refusal message must never show: a traceback, the loader's SQL or its tables
LEAKS = re.compile(r"Traceback|\b(?i:select|insert into|from stdin)\b|LINE 1:|_daybook_")


def run_load(warehouse: Warehouse, table: str, *paths: Path, monkeypatch) -> Result:
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)
    return CliRunner().invoke(load, [table, *map(str, paths)])


def write_csv(path: Path, records: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(records[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return path


def client(client_id: str = CLIENT, created_at: str = "2025-01-01 00:00:00", **extra) -> dict:
    return {
        "client_id": client_id,
        "name": "Northwind",
        "timezone": "America/New_York",
        "created_at": created_at,
    } | extra


def heartbeat(index: int, **extra) -> dict:
    spec = RAW_TABLES["heartbeats"]
    row = {
        "heartbeat_id": f"00000000-0000-4000-8000-{index:012d}",
        "client_id": CLIENT,
        "user_id": USER,
        "device_id": DEVICE,
        "generated_at_utc": "2026-01-05 14:00:00",
        "received_at_utc": "2026-01-05 14:00:05",
        **{name: "1" for name in spec.column_names[6:11]},
        "total_activity_count": "5",
    }
    return row | extra


def utc_naive(text: str) -> datetime:
    """Independent reading of the offsets used below: split the suffix off by hand."""
    match = re.fullmatch(r"(.{10}[ T][0-9:.]+)(Z|[+-]\d\d(?::?\d\d)?)?", text)
    assert match, text
    stamp = datetime.strptime(
        match.group(1).replace("T", " "),
        "%Y-%m-%d %H:%M:%S" + (".%f" if "." in match.group(1) else ""),
    )
    suffix = match.group(2)
    if not suffix or suffix == "Z":
        return stamp
    sign = 1 if suffix[0] == "+" else -1
    digits = suffix[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return stamp.replace(tzinfo=timezone(sign * offset)).astimezone(UTC).replace(tzinfo=None)


def heartbeat_table(rows: int) -> dict[str, list]:
    """Columns of ``rows`` valid heartbeats, counts as text (a string column)."""
    spec = RAW_TABLES["heartbeats"]
    columns: dict[str, list] = {name: [] for name in spec.column_names}
    for index in range(rows):
        for name, value in heartbeat(1000 + index).items():
            columns[name].append(value)
    return columns


def assert_refused(warehouse: Warehouse, result: Result, before: dict, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)
    assert not LEAKS.search(result.output), result.output
    assert counts(warehouse) == before


def user(user_id: str, **extra) -> dict:
    return {
        "user_id": user_id,
        "client_id": CLIENT,
        "email": f"{user_id[:4]}@example.com",
        "display_name": "Someone",
        "created_at": "2025-01-01 00:00:00",
    } | extra


def rows_by_id(warehouse: Warehouse, table: str) -> dict[str, list[dict]]:
    key = RAW_TABLES[table].key
    out: dict[str, list[dict]] = {}
    for row in read_table(warehouse, f"select * from raw.{table}"):
        out.setdefault(row[key], []).append(row)
    return out


A, B, C = (f"{digit * 8}-0000-4000-8000-000000000000" for digit in "abc")
