"""Buckets: the one definition, on the Python side, of "the bucket of a day at a granularity".

``GRANULARITY`` is a single table. Each row says how a day is truncated to its
bucket's first day, in both languages the project speaks:

- ``trunc_unit``: the SQL ``DATE_TRUNC`` unit the compiler emits (``None`` for
  days: no truncation). ``WEEK`` always means the ISO week (Monday first);
  ``daybook.semantic.dialects`` renders it that way on warehouses where
  ``DATE_TRUNC(.., WEEK)`` means something else (BigQuery, Snowflake).
- ``days`` / ``months``: the same truncation in Python, as fixed periods of
  days counted from 0001-01-01 (a Monday) or of months counted from January.
  ``bucket_of`` and the walk over a range's buckets (``bucket_starts``) use
  them; the API lays the values of the compiled ``"buckets"`` query on that
  walk (``fill``), sparing the warehouse the day series and the join (about
  half of a DuckDB query's cost for a 90-day range, mostly planning).

How this relates to the ``dim_dates`` mart: ``dim_dates`` (dbt) carries the
same truncations as columns (``week_start_date`` = ``date_trunc('week')``,
``month_start_date``, ``quarter_start_date``) for BI tools that join the date
spine. The semantic layer does not read it: a request may ask for any date of
Python's calendar, outside the spine's configured years too, so the compiler
generates its own spine from this table. The two agree because both use ISO
weeks and ``date_trunc``; ``tests/semantic/test_semantic_buckets.py`` checks
this table's SQL and Python against an independent reference on every day of
four years, on DuckDB and PostgreSQL.

Dates at the edges of Python's calendar (0001-01-01 .. 9999-12-31) are valid
requests: the walk over buckets stops at the bucket holding the range's last
day instead of computing the one after it, so the series of a range ending
on 9999-12-31 is complete and no date past ``date.max`` is ever built. (The
first bucket of any range is never earlier than 0001-01-01: that day is a
Monday, a month start and a quarter start.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Granularity:
    """One bucket size: its SQL truncation unit and the same period in Python.

    Exactly one of ``days`` and ``months`` is non-zero.
    """

    name: str
    trunc_unit: str | None
    days: int = 0
    months: int = 0

    def start_of(self, day: date) -> date:
        """The first day of the bucket holding ``day``."""
        if self.days:  # periods of days aligned on 0001-01-01, a Monday (ordinal 1)
            return day - timedelta(days=(day.toordinal() - 1) % self.days)
        month = (day.month - 1) // self.months * self.months + 1
        return date(day.year, month, 1)

    def after(self, bucket: date) -> date:
        """The first day of the bucket following the one starting on ``bucket``."""
        if self.days:
            return bucket + timedelta(days=self.days)
        month = bucket.month - 1 + self.months
        return date(bucket.year + month // 12, month % 12 + 1, 1)


GRANULARITY: dict[str, Granularity] = {
    row.name: row
    for row in (
        Granularity("daily", None, days=1),
        Granularity("weekly", "WEEK", days=7),
        Granularity("monthly", "MONTH", months=1),
        Granularity("quarterly", "QUARTER", months=3),
    )
}
GRANULARITIES: tuple[str, ...] = tuple(GRANULARITY)


def get_granularity(name: str) -> Granularity:
    """The named granularity, or a ``ValueError`` listing the valid ones."""
    try:
        return GRANULARITY[name]
    except KeyError:
        valid = ", ".join(GRANULARITIES)
        raise ValueError(f"unknown granularity {name!r}; use one of {valid}") from None


def bucket_of(day: date, granularity: str) -> date:
    """The first day of the bucket holding ``day``."""
    return get_granularity(granularity).start_of(day)


def bucket_starts(start: date, end: date, granularity: str) -> list[date]:
    """Every bucket overlapping [start, end], oldest first (partial first and last ones too)."""
    size = get_granularity(granularity)
    if start > end:
        return []
    bucket, last = size.start_of(start), size.start_of(end)
    buckets = [bucket]
    while bucket < last:  # never steps past the last bucket, so never past date.max
        bucket = size.after(bucket)
        buckets.append(bucket)
    return buckets


def fill(
    rows: Iterable[tuple[date, int | None]], start: date, end: date, granularity: str
) -> list[tuple[date, int]]:
    """``(bucket, value)`` rows of the buckets holding data, as the whole zero-filled series."""
    values = {bucket: value for bucket, value in rows}
    return [
        (bucket, int(values.get(bucket) or 0)) for bucket in bucket_starts(start, end, granularity)
    ]
