"""The grains both Daybook and MetricFlow answer, and a whole-period range for each.

Whole periods only: a partial first or last week is a place where Daybook and
MetricFlow deliberately differ (Daybook's edge buckets hold only the in-range days),
so comparing them would test the range rule rather than the metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Grain:
    """One bucket size under its two names."""

    daybook: str  # the API's granularity parameter
    metricflow: str  # MetricFlow's time granularity (metric_time__<grain>)


GRAINS: tuple[Grain, ...] = (
    Grain("daily", "day"),
    Grain("weekly", "week"),
    Grain("monthly", "month"),
    Grain("quarterly", "quarter"),
)


def bucket_start(grain: Grain, day: date) -> date:
    """The first day of the bucket holding ``day`` (ISO weeks; calendar months, quarters)."""
    if grain.metricflow == "day":
        return day
    if grain.metricflow == "week":
        return day - timedelta(days=day.weekday())
    months = {"month": 1, "quarter": 3}[grain.metricflow]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def whole_periods(grain: Grain, first: date, last: date) -> tuple[date, date] | None:
    """The widest range of whole ``grain`` buckets inside ``first..last`` (inclusive), or
    ``None`` when not one whole bucket fits. Walks the days: windows are months long."""
    if first > last:
        raise ValueError(f"empty window: {first} is after {last}")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    starts = [day for day in days if bucket_start(grain, day) == day]
    ends = [
        day
        for day in days
        if bucket_start(grain, day + timedelta(days=1)) != bucket_start(grain, day)
    ]
    if not starts or not ends or ends[-1] < starts[0]:
        return None
    return starts[0], ends[-1]
