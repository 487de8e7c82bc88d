"""The differences between Daybook's and MetricFlow's series, each with its cause.

Pure functions over plain values (no MetricFlow, no warehouse), so the rules are
unit-tested on their own (``tests/test_crosscheck_compare.py``). A difference whose
cause no rule recognises is *unexplained*: the only thing that fails ``make crosscheck``.

The rules are narrow on purpose: each recognises one known, documented behaviour by
its exact shape (which side has the row, which value, which metric type), so an
unrelated defect that happens to land near one is still reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from daybook.crosscheck.periods import GRAINS, bucket_start

Value = int | float | None

RELATIVE_TOLERANCE = 1e-9  # ratios: MetricFlow divides as DOUBLE, Daybook as DOUBLE too
ABSOLUTE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Cause:
    """Why the two sides differ: who is "right" and where it is documented."""

    key: str
    kind: str  # "Daybook rule" (deliberate) or "MetricFlow bug"
    text: str


DENSE_SERIES = Cause(
    "dense-series",
    "Daybook rule",
    "Daybook's series are dense: every bucket of the range is present, 0 for a count or "
    "sum with no rows, null for a ratio or derived metric with nothing to divide or "
    "compare. MetricFlow leaves out a bucket with no input rows (no join_to_timespine).",
)
SPARSE_CUMULATIVE_DAYS = Cause(
    "dense-cumulative-days",
    "Daybook rule",
    "A cumulative metric's value at a coarser grain is period_agg over the bucket's days. "
    "Daybook's days are dense: a day whose window holds no activity has the value 0, and "
    "`last` is the bucket's last day, `average` averages every day. MetricFlow has a row "
    "only for days whose window holds input rows, so `last` is the last such day and "
    "`average` averages only those. Checked: MetricFlow's value equals period_agg over "
    "Daybook's own non-zero daily values of the bucket.",
)
NULL_DERIVED_INPUT = Cause(
    "dense-derived-inputs",
    "Daybook rule",
    "A derived metric's inputs are Daybook's dense series: an input sum with no rows in "
    "the bucket is 0 (as if fill_nulls_with: 0), so (0 - previous) / previous = -1. "
    "MetricFlow's input is null there (it has no row for that input: checked against "
    "its own answer for the input metric), so its expression is null.",
)
DUPLICATED_ROWS = Cause(
    "mf-duplicated-rows",
    "MetricFlow bug",
    "MetricFlow returned the same time bucket more than once (issue 16: duplicated rows "
    "for time-spine metrics at week grain); each copy carries Daybook's value.",
)


@dataclass(frozen=True)
class Metric:
    """What the rules need to know of a metric: its name, dbt type and, for a cumulative
    metric, its ``period_agg`` (first, last or average)."""

    name: str
    type: str  # simple, ratio, derived, cumulative
    period_agg: str | None = None
    inputs: tuple[str, ...] = ()  # a derived metric's input metrics read without an offset


@dataclass(frozen=True)
class Difference:
    """One bucket (or a whole query) where the sides differ; ``cause`` None: unexplained."""

    metric: str
    grain: str
    bucket: date | None  # None: the whole query (MetricFlow failed)
    daybook: str
    metricflow: str
    cause: Cause | None

    @property
    def explained(self) -> bool:
        return self.cause is not None


@dataclass(frozen=True)
class Comparison:
    """One metric at one grain: how many buckets agree, and the differences."""

    metric: str
    grain: str
    buckets: int  # buckets in Daybook's series
    equal: int  # buckets where both sides gave one row with the same value
    differences: list[Difference] = field(default_factory=list)


def same(left: Value, right: Value) -> bool:
    """Equal values: both null, or numbers equal within a relative tolerance."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return False
    return math.isclose(left, right, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def show(value: Value | str) -> str:
    """A value as the table prints it."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def compare(
    metric: Metric,
    grain: str,
    daybook: Mapping[date, Value],
    metricflow: Sequence[tuple[date, Value]],
    *,
    metricflow_error: str | None = None,
    daily: Mapping[date, Value] | None = None,
    input_gaps: frozenset[date] = frozenset(),
) -> Comparison:
    """Compare Daybook's series (bucket -> value) with MetricFlow's rows (in order,
    duplicates kept) for one metric at one grain; classify every difference.

    ``daily``: Daybook's daily series of the same metric over days covering the range,
    which the cumulative rule recomputes MetricFlow's value from. ``input_gaps``: the
    buckets where MetricFlow's own answer for one of a derived metric's ``inputs`` (at
    the same grain and range) has no row."""
    if metricflow_error is not None:
        failure = Difference(
            metric.name, grain, None, f"{len(daybook)} buckets", metricflow_error, None
        )
        return Comparison(metric.name, grain, len(daybook), 0, [failure])
    rows: dict[date, list[Value]] = defaultdict(list)
    for bucket, value in metricflow:
        rows[bucket].append(value)
    differences: list[Difference] = []
    equal = 0
    for bucket in sorted(set(daybook) | set(rows)):
        mine = daybook.get(bucket, _MISSING)
        theirs = rows.get(bucket, [])
        if mine is not _MISSING and len(theirs) == 1 and same(mine, theirs[0]):
            equal += 1
            continue
        differences.append(
            Difference(
                metric.name,
                grain,
                bucket,
                "(no bucket)" if mine is _MISSING else show(mine),
                _show_rows(theirs),
                classify(
                    metric, mine, theirs, _days_of(grain, bucket, daily), bucket in input_gaps
                ),
            )
        )
    return Comparison(metric.name, grain, len(daybook), equal, differences)


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: object = _Missing()


def _show_rows(values: Sequence[Value]) -> str:
    if not values:
        return "(no row)"
    if len(values) == 1:
        return show(values[0])
    return f"{len(values)} rows: " + ", ".join(show(value) for value in values)


def _days_of(grain: str, bucket: date, daily: Mapping[date, Value] | None) -> list[Value] | None:
    """Daybook's daily values of the days in ``bucket``, in order (None: not given)."""
    if daily is None:
        return None
    chosen = next((g for g in GRAINS if g.metricflow == grain), None)
    if chosen is None:
        raise ValueError(f"unknown grain {grain!r}")
    return [daily[day] for day in sorted(daily) if bucket_start(chosen, day) == bucket]


def period_agg_of_rows(period_agg: str, days: Sequence[Value]) -> Value:
    """``period_agg`` over the days MetricFlow has a row for: those with a non-zero value
    (a cumulative window with no input rows yields no row there); None if there are none."""
    present = [value for value in days if value]
    if not present:
        return None
    if period_agg == "first":
        return present[0]
    if period_agg == "last":
        return present[-1]
    if period_agg == "average":
        return sum(present) / len(present)  # type: ignore[arg-type]
    raise ValueError(f"unknown period_agg {period_agg!r}")


def classify(
    metric: Metric,
    daybook: object,
    metricflow: Sequence[Value],
    days: Sequence[Value] | None = None,
    input_gap: bool = False,
) -> Cause | None:
    """The cause of one bucket's difference, or None when no known rule explains it.

    ``daybook`` is Daybook's value (``_MISSING`` when its series has no such bucket);
    ``metricflow`` every value MetricFlow returned for the bucket (empty: no row);
    ``days`` Daybook's daily values of the bucket's days, when known; ``input_gap``
    whether MetricFlow has no row for an unshifted input of this (derived) metric here.
    """
    if daybook is _MISSING:
        return None  # Daybook's series covers the whole range: a bucket it lacks is news
    if not metricflow:
        empty = None if metric.type in {"ratio", "derived"} else 0
        if daybook == empty and (daybook is None) == (empty is None):
            return DENSE_SERIES
        return None
    if len(metricflow) > 1 and all(same(daybook, value) for value in metricflow):  # type: ignore[arg-type]
        return DUPLICATED_ROWS
    if (
        metric.type == "derived"
        and input_gap
        and list(metricflow) == [None]
        and daybook is not None
    ):
        return NULL_DERIVED_INPUT
    if (
        len(metricflow) == 1
        and metric.type == "cumulative"
        and metric.period_agg
        and days
        and len(days) > 1
        and same(metricflow[0], period_agg_of_rows(metric.period_agg, days))
    ):
        return SPARSE_CUMULATIVE_DAYS
    return None


def unexplained(comparisons: Iterable[Comparison]) -> list[Difference]:
    """Every difference no rule explains."""
    return [d for c in comparisons for d in c.differences if not d.explained]
