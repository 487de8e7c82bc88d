"""Buckets: ``calendar.GRANULARITY`` as SQL (per dialect) and as Python, on every day.

Expected values come from ``tests/reference.py``, which computes bucket starts
its own way (ISO calendar, a month table), never from ``calendar.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reference import bucket_start as reference_bucket_start
from reference import days_between
from sqlglot import exp

from daybook.semantic import GRANULARITIES
from daybook.semantic.calendar import bucket_of, bucket_starts, fill
from daybook.semantic.dialects import DIALECTS
from daybook.semantic.metric_sql.nodes import bucket_start

DAY = exp.column("d")

# (granularity, dialect, expected SQL)
CASES = [
    ("daily", "postgres", "d"),
    ("weekly", "duckdb", "CAST(DATE_TRUNC('WEEK', d) AS DATE)"),
    ("weekly", "postgres", "CAST(DATE_TRUNC('WEEK', d) AS DATE)"),
    ("weekly", "bigquery", "CAST(DATE_TRUNC(d, WEEK(MONDAY)) AS DATE)"),
    ("weekly", "snowflake", "CAST(DATEADD(DAY, 1 - DAYOFWEEKISO(d), d) AS DATE)"),
    ("weekly", "spark", "CAST(TRUNC(d, 'WEEK') AS DATE)"),
    ("weekly", "trino", "CAST(DATE_TRUNC('WEEK', d) AS DATE)"),
    ("monthly", "bigquery", "CAST(DATE_TRUNC(d, MONTH) AS DATE)"),
    ("monthly", "snowflake", "CAST(DATE_TRUNC('MONTH', d) AS DATE)"),
    ("quarterly", "postgres", "CAST(DATE_TRUNC('QUARTER', d) AS DATE)"),
    ("quarterly", "databricks", "CAST(TRUNC(d, 'QUARTER') AS DATE)"),
    ("quarterly", "trino", "CAST(DATE_TRUNC('QUARTER', d) AS DATE)"),
]


@pytest.mark.parametrize(("granularity", "dialect", "expected"), CASES)
def test_bucket_start_sql_per_dialect(granularity: str, dialect: str, expected: str) -> None:
    assert DIALECTS[dialect].generate(bucket_start(DAY.copy(), granularity)) == expected


def test_unknown_granularity_is_refused() -> None:
    with pytest.raises(ValueError, match="hourly"):
        bucket_start(DAY.copy(), "hourly")


DAYS = days_between(date(2023, 12, 25), date(2027, 1, 10))  # leap year, year and quarter ends


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_bucket_start_matches_the_reference_on_every_day(
    duckdb_marts, postgres_marts, granularity: str
) -> None:
    """Four years of days through the SQL of both executed backends equal the reference
    (and so agree with ``calendar.bucket_of``, checked against the same reference below)."""
    expected = [(day, reference_bucket_start(day, granularity)) for day in DAYS]
    for con, dialect, marker in ((duckdb_marts, "duckdb", "?"), (postgres_marts, "postgres", "%s")):
        bucket = DIALECTS[dialect].generate(bucket_start(exp.column("d"), granularity))
        values = ", ".join([f"(CAST({marker} AS DATE))"] * len(DAYS))
        sql = f"select d, {bucket} from (values {values}) as days(d) order by d"
        got = [tuple(row) for row in con.execute(sql, DAYS).fetchall()]
        assert got == expected, dialect


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_python_buckets_of_every_range_match_the_reference(granularity: str) -> None:
    """``calendar.bucket_starts``: the distinct reference buckets of the range's days, in
    order, for ranges starting on every day of a leap year and up to 100 days long."""
    for offset in range(0, 366, 3):
        start = date(2024, 1, 1) + timedelta(days=offset)
        for length in (1, 7, 31, 90, 100):
            days = days_between(start, start + timedelta(days=length - 1))
            expected = sorted({reference_bucket_start(day, granularity) for day in days})
            assert bucket_starts(days[0], days[-1], granularity) == expected
            assert [bucket_of(day, granularity) for day in days] == [
                reference_bucket_start(day, granularity) for day in days
            ]


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_python_buckets_at_the_edges_of_the_calendar_match_the_reference(granularity: str) -> None:
    """Ranges touching 0001-01-01 or 9999-12-31: complete, and no date past ``date.max``."""
    for start, end in (
        (date.min, date.min + timedelta(days=99)),
        (date.max - timedelta(days=99), date.max),
        (date.max, date.max),
    ):
        days = days_between(start, end)
        expected = sorted({reference_bucket_start(day, granularity) for day in days})
        assert bucket_starts(start, end, granularity) == expected


def test_fill_puts_values_on_their_buckets_and_zero_elsewhere() -> None:
    start, end = date(2026, 1, 1), date(2026, 1, 20)  # Thursday: a partial first week
    got = fill([(date(2026, 1, 12), 5), (date(2025, 12, 29), None)], start, end, "weekly")
    assert got == [
        (date(2025, 12, 29), 0),
        (date(2026, 1, 5), 0),
        (date(2026, 1, 12), 5),
        (date(2026, 1, 19), 0),
    ]
    with pytest.raises(ValueError, match="hourly"):
        bucket_starts(start, end, "hourly")
