"""The cross-check's comparison and cause rules (daybook/crosscheck), without MetricFlow.

``make crosscheck`` itself needs a second environment and minutes; these check the
logic that decides what counts as a difference and which differences are explained,
on hand-made series whose answers are written out here.
"""

from __future__ import annotations

from datetime import date

import pytest

from daybook.crosscheck.compare import (
    DENSE_SERIES,
    DUPLICATED_ROWS,
    NULL_DERIVED_INPUT,
    SPARSE_CUMULATIVE_DAYS,
    Metric,
    compare,
    same,
    unexplained,
)
from daybook.crosscheck.metricflow import parse_value, read_csv
from daybook.crosscheck.periods import GRAINS, whole_periods

SIMPLE = Metric("activity_count", "simple")
RATIO = Metric("chrome_share", "ratio")
D1, D2, D3 = date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)


def test_equal_series_have_no_difference() -> None:
    result = compare(SIMPLE, "week", {D1: 3, D2: 0.1 + 0.2}, [(D1, 3), (D2, 0.3)])
    assert (result.buckets, result.equal, result.differences) == (2, 2, [])


def test_a_missing_empty_bucket_is_the_dense_series_rule() -> None:
    counts = compare(SIMPLE, "day", {D1: 3, D2: 0}, [(D1, 3)])
    ratios = compare(RATIO, "day", {D1: 0.5, D2: None}, [(D1, 0.5)])
    assert [d.cause for d in counts.differences + ratios.differences] == [DENSE_SERIES] * 2
    assert unexplained([counts, ratios]) == []


@pytest.mark.parametrize(
    ("metric", "value"),
    [(SIMPLE, 4), (SIMPLE, None), (RATIO, 0), (RATIO, 0.25)],
    ids=["count-with-data", "count-null", "ratio-zero", "ratio-with-data"],
)
def test_a_missing_bucket_with_data_is_unexplained(metric: Metric, value) -> None:
    result = compare(metric, "day", {D1: 1, D2: value}, [(D1, 1)])
    [difference] = result.differences
    assert (difference.bucket, difference.cause) == (D2, None)


def test_duplicated_rows_carrying_daybooks_value_are_the_metricflow_bug() -> None:
    result = compare(SIMPLE, "week", {D1: 7, D2: 9}, [(D1, 7), (D1, 7), (D2, 9)])
    [difference] = result.differences
    assert (difference.bucket, difference.cause, result.equal) == (D1, DUPLICATED_ROWS, 1)
    assert difference.metricflow == "2 rows: 7, 7"


def test_duplicated_rows_with_another_value_are_unexplained() -> None:
    result = compare(SIMPLE, "week", {D1: 7}, [(D1, 7), (D1, 8)])
    assert [d.cause for d in result.differences] == [None]


def test_a_different_value_and_an_extra_bucket_are_unexplained() -> None:
    result = compare(SIMPLE, "week", {D1: 7, D2: 5}, [(D1, 7), (D2, 6), (D3, 1)])
    assert [(d.bucket, d.daybook, d.metricflow) for d in unexplained([result])] == [
        (D2, "5", "6"),
        (D3, "(no bucket)", "1"),
    ]


# A week (Monday 2026-01-05 .. Sunday 2026-01-11) of daily values, the weekend empty.
WEEK_DAYS = {date(2026, 1, 5 + n): value for n, value in enumerate([3, 2, 4, 0, 1, 0, 0])}


def test_daybooks_dense_days_explain_metricflows_cumulative_average_and_last() -> None:
    dau = Metric("daily_active_users", "cumulative", "average")
    mau = Metric("monthly_active_users", "cumulative", "last")
    # Daybook averages all 7 days (10 / 7); MetricFlow only the 4 days with rows (10 / 4)
    average = compare(dau, "week", {D1: 10 / 7}, [(D1, 2.5)], daily=WEEK_DAYS)
    # Daybook's last day of the week is the empty Sunday; MetricFlow's the Friday
    last = compare(mau, "week", {D1: 0}, [(D1, 1)], daily=WEEK_DAYS)
    assert [d.cause for d in average.differences + last.differences] == [SPARSE_CUMULATIVE_DAYS] * 2


@pytest.mark.parametrize(
    ("metric", "metricflow", "daily"),
    [
        (Metric("dau", "cumulative", "average"), 2.4, WEEK_DAYS),  # not the mean of any days
        (Metric("mau", "cumulative", "last"), 4, WEEK_DAYS),  # not the last day with a row
        (Metric("mau", "cumulative", "last"), 1, None),  # no daily series to check against
        (Metric("activity_count", "simple"), 1, WEEK_DAYS),  # not a cumulative metric
    ],
    ids=["wrong-average", "wrong-last", "no-daily", "not-cumulative"],
)
def test_the_cumulative_rule_needs_metricflows_value_recomputed(metric, metricflow, daily) -> None:
    result = compare(metric, "week", {D1: 0}, [(D1, metricflow)], daily=daily)
    assert [d.cause for d in result.differences] == [None]


WOW = Metric("activity_wow_change", "derived", inputs=("activity_count",))


def test_a_derived_null_where_metricflow_lacks_an_input_row_is_the_dense_inputs_rule() -> None:
    # Daybook: no activity this day is 0, so (0 - 5) / 5 = -1; MetricFlow: null - 5 is null
    result = compare(
        WOW, "day", {D1: -1.0, D2: 0.5}, [(D1, None), (D2, 0.5)], input_gaps=frozenset({D1})
    )
    assert [d.cause for d in result.differences] == [NULL_DERIVED_INPUT]


@pytest.mark.parametrize(
    ("daybook", "metricflow", "gaps"),
    [(-1.0, None, frozenset()), (-1.0, 0.5, frozenset({D1})), (None, None, frozenset({D1}))],
    ids=["input-present", "metricflow-not-null", "both-null-is-equal"],
)
def test_the_derived_rule_needs_a_missing_input_row_and_a_null(daybook, metricflow, gaps) -> None:
    result = compare(WOW, "day", {D1: daybook}, [(D1, metricflow)], input_gaps=gaps)
    assert [d.cause for d in result.differences] == ([] if daybook is None else [None])


def test_a_failed_query_is_one_unexplained_difference() -> None:
    result = compare(SIMPLE, "week", {D1: 7}, [], metricflow_error="mf query exited 1: boom")
    [difference] = unexplained([result])
    assert (difference.bucket, difference.metricflow) == (None, "mf query exited 1: boom")


def test_values_compare_with_a_tolerance_and_null_only_equals_null() -> None:
    assert same(1 / 3, 0.33333333333333331)
    assert same(None, None)
    assert not same(None, 0)
    assert not same(0.3334, 1 / 3)


def test_csv_cells_parse_as_metricflow_writes_them(tmp_path) -> None:
    assert (parse_value("12"), parse_value("0.5"), parse_value("")) == (12, 0.5, None)
    path = tmp_path / "out.csv"
    path.write_text(
        "metric_time__week,user_count\n2026-01-05 00:00:00,3\n2026-01-05 00:00:00,3\n"
        "2026-01-12 00:00:00,\n"
    )
    assert read_csv(path, "metric_time__week", "user_count") == [(D1, 3), (D1, 3), (D2, None)]


def test_whole_periods_cut_the_window_to_whole_buckets() -> None:
    day, week, month, quarter = GRAINS
    first, last = date(2025, 10, 1), date(2026, 3, 31)
    assert whole_periods(day, first, last) == (first, last)
    assert whole_periods(week, first, last) == (date(2025, 10, 6), date(2026, 3, 29))
    assert whole_periods(month, date(2025, 10, 2), last) == (date(2025, 11, 1), last)
    assert whole_periods(quarter, date(2025, 10, 2), last) == (date(2026, 1, 1), last)
    assert whole_periods(month, date(2025, 10, 2), date(2025, 10, 30)) is None


def test_the_report_groups_differences_and_marks_the_unexplained() -> None:
    from daybook.crosscheck import report

    found = compare(SIMPLE, "day", {D1: 0, D2: 4, D3: 0}, [(D2, 5)]).differences
    table = report.grouped(found, markdown=True)
    assert (
        "| activity_count | day | dense-series | 2 | 2026-01-05: daybook 0, metricflow (no row) |"
        in table
    )
    assert (
        "| activity_count | day | UNEXPLAINED | 1 | 2026-01-12: daybook 4, metricflow 5 |" in table
    )
    assert report.causes(found).count("dense-series") == 1
