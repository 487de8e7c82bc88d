"""Small helpers shared by the data-quality tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from daybook.config import Warehouse
from daybook.quality import CheckReport
from daybook.warehouse import connection


def execute(warehouse: Warehouse, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement with ``?`` placeholders on either backend, and commit."""
    if warehouse.backend == "postgres":
        sql = sql.replace("?", "%s")
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(sql, tuple(params))
        con.commit()


def insert_rows(warehouse: Warehouse, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert dict rows into ``table`` as bound parameters; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    columns = list(rows[0])
    placeholder = "%s" if warehouse.backend == "postgres" else "?"
    sql = (
        f"insert into {table} ({', '.join(columns)}) "
        f"values ({', '.join([placeholder] * len(columns))})"
    )
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.executemany(sql, [tuple(row[c] for c in columns) for row in rows])
        con.commit()
    return len(rows)


def problem_counts(report: CheckReport, suites: Iterable[str]) -> dict[tuple[str, str], int]:
    """(suite, expectation) -> offending rows, for every counting expectation of ``suites``
    (not shares, nor the totals other counts are out of)."""
    wanted = set(suites)
    totals = {f.out_of for f in report.findings if f.out_of}
    return {
        (f.suite, f.name): f.count
        for f in report.findings
        if f.suite in wanted and f.unit != "share" and f.name not in totals
    }


def failed(report: CheckReport, suite: str) -> dict[str, tuple[str, int | None]]:
    """Failed expectations of ``suite``: name -> (severity, count)."""
    return {f.name: (f.severity, f.count) for f in report.findings if f.suite == suite and f.failed}
