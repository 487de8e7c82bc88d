"""``bucket_start``: the per-dialect SQL for a bucket's first day, and its values on every day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from reference import bucket_start as reference_bucket_start
from reference import days_between
from sqlglot import exp

from daybook.semantic import GRANULARITIES
from daybook.semantic.calendar import bucket_of, bucket_starts, fill
from daybook.semantic.compiler import bucket_start
from daybook.semantic.dialects import DIALECTS

DAY = exp.column("d")

# (granularity, dialect, expected SQL)
CASES = [
    ("daily", "postgres", "d"),
    ("weekly", "duckdb", "CAST(DATE_TRUNC('WEEK', d) AS DATE)"),
    ("weekly", "postgres", "CAST(DATE_TRUNC('WEEK', d) AS DATE)"),
    ("weekly", "bigquery", "CAST(DATE_TRUNC(d, WEEK(MONDAY)) AS DATE)"),
    ("weekly", "snowflake", "DATEADD(DAY, 1 - DAYOFWEEKISO(d), d)"),
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
    sql = bucket_start(DAY.copy(), granularity, DIALECTS[dialect]).sql(dialect=dialect)
    assert sql == expected


def test_unknown_granularity_is_refused() -> None:
    with pytest.raises(ValueError, match="hourly"):
        bucket_start(DAY.copy(), "hourly", DIALECTS["duckdb"])


DAYS = days_between(date(2023, 12, 25), date(2027, 1, 10))  # leap year, year and quarter ends


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_bucket_start_matches_the_reference_on_every_day(
    duckdb_marts, postgres_marts, granularity: str
) -> None:
    """Four years of days through the SQL of both executed backends equal the reference."""
    expected = [(day, reference_bucket_start(day, granularity)) for day in DAYS]
    for con, dialect, marker in ((duckdb_marts, "duckdb", "?"), (postgres_marts, "postgres", "%s")):
        bucket = bucket_start(exp.column("d"), granularity, DIALECTS[dialect]).sql(dialect=dialect)
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
