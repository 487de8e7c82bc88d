"""The buckets of a requested range, in Python: what the compiled series query's spine holds.

Why it exists: a caller that only needs the buckets holding data (the
``"buckets"`` shape of a compiled query) lays them on the calendar here, so
the warehouse is spared the day series and the join (about half of a DuckDB
query's cost for a 90-day range, mostly planning). The contract's bucket
starts: the day itself, the Monday of the ISO week, the first of the month,
the first day of the quarter.

Dates at the edges of Python's calendar (0001-01-01 .. 9999-12-31) are valid
requests: the walk over buckets stops at the bucket holding the range's last
day instead of computing the one after it, so the series of a range ending
on 9999-12-31 is complete and no date past ``date.max`` is ever built. (The
first bucket of any range is never earlier than 0001-01-01: that day is a
Monday, a month start and a quarter start.)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from daybook.semantic.compiler import GRANULARITIES


def bucket_of(day: date, granularity: str) -> date:
    """The first day of the bucket holding ``day``."""
    if granularity == "daily":
        return day
    if granularity == "weekly":
        return day - timedelta(days=day.weekday())
    if granularity == "monthly":
        return day.replace(day=1)
    if granularity == "quarterly":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    raise ValueError(f"unknown granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")


def bucket_starts(start: date, end: date, granularity: str) -> list[date]:
    """Every bucket overlapping [start, end], oldest first (partial first and last ones too)."""
    if start > end:
        return []
    bucket, last = bucket_of(start, granularity), bucket_of(end, granularity)
    buckets = [bucket]
    while bucket < last:  # never steps past the last bucket, so never past date.max
        bucket = _next_bucket(bucket, granularity)
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


def _next_bucket(bucket: date, granularity: str) -> date:
    if granularity == "daily":
        return bucket + timedelta(days=1)
    if granularity == "weekly":
        return bucket + timedelta(days=7)
    months = 1 if granularity == "monthly" else 3
    month = bucket.month - 1 + months
    return date(bucket.year + month // 12, month % 12 + 1, 1)
