"""What `daybook check` tells a data engineer: agreeing counts, and why raw and quarantine differ.

Issue 12: the verdict said "21 warnings" above a table of "passed / failed",
``device_belongs_to_client: 323`` stood next to ``device_client_mismatch 315``
unexplained, and Data Docs said "Failed" for warnings. Expected numbers come
from ``tests/reference.py`` (plain Python over the raw rows), never from the report.
"""

from __future__ import annotations

import re
from collections import Counter

from reference import compute, invalid_reasons
from rich.console import Console

from daybook.quality.cli import render
from daybook.quality.report import ReasonCount

ID_COLUMNS = ("heartbeat_id", "client_id", "user_id", "device_id")
# Raw expectations that count rows for a quarantine reason (raw_heartbeats.yml), with the
# reasons they anticipate; the id checks count one id column each.
RAW_REASONS = (
    "missing_generated_at",
    "generated_at_out_of_range",
    "invalid_count",
    "total_mismatch",
    "unknown_client",
    "unknown_user",
    "user_client_mismatch",
    "unknown_device",
    "device_client_mismatch",
    "invalid_client_timezone",
)


def _present(value: object) -> bool:
    return value is not None and value != ""


def _expected(built) -> tuple[Counter, Counter]:
    """(raw rows per reason, every copy; quarantined heartbeats per reason), from the reference."""
    tables = {t: built.raw_rows(t) for t in ("clients", "users", "devices", "heartbeats")}
    clients = {row["client_id"]: row for row in tables["clients"]}
    users = {row["user_id"]: row for row in tables["users"]}
    devices = {row["device_id"]: row for row in tables["devices"]}
    raw: Counter = Counter()
    for hb in tables["heartbeats"]:
        found = invalid_reasons(hb, clients, users, devices)
        raw.update(reason for reason in found if reason in RAW_REASONS)
        raw["missing_id"] += sum(not _present(hb[column]) for column in ID_COLUMNS)
    reference = compute(*tables.values())
    quarantined = Counter(reason for _, reasons in reference.quarantined for reason in reasons)
    return raw, quarantined


def _printed(report) -> str:
    console = Console(record=True, width=220, color_system=None)
    render(report, console)
    return console.export_text()


def test_raw_rows_and_quarantined_heartbeats_side_by_side(backend, built, clean_reports) -> None:
    raw, quarantined = _expected(built)
    assert raw != quarantined, "the sample is meant to hold duplicated invalid heartbeats"
    expected = [
        ReasonCount(reason, raw[reason], quarantined[reason])
        for reason in sorted(set(raw) | set(quarantined))
        if raw[reason] or quarantined[reason]
    ]
    assert clean_reports[backend].reasons_compared() == expected

    text = _printed(clean_reports[backend])
    for row in expected:
        assert re.search(rf"│ {row.reason} +│ +{row.raw_rows} │ +{row.quarantined} │", text), row
    # the difference is explained in words, with the measured share of copies
    assert "raw rows counts every delivered row" in text
    assert "each heartbeat once, its earliest-received copy" in text
    assert re.search(r"\d+\.\d% of delivered rows here are extra copies", text)


def test_table_totals_and_verdict_say_the_same_thing(backend, built, clean_reports) -> None:
    raw, quarantined = _expected(built)
    # one warning per raw reason expectation with rows (the id checks one per id column)
    # and per quarantine reason with heartbeats; marts and entity tables are clean
    tables = {t: built.raw_rows(t) for t in ("heartbeats",)}
    id_warnings = sum(
        any(not _present(hb[column]) for hb in tables["heartbeats"]) for column in ID_COLUMNS
    )
    warnings = (
        sum(1 for reason in RAW_REASONS if raw[reason])
        + id_warnings
        + sum(1 for n in quarantined.values() if n)
    )
    report = clean_reports[backend]
    total = len(report.findings)
    text = _printed(report)

    assert (
        f"Check passed with warnings: 0 errors, {warnings} warnings, {total - warnings} passed"
        in (text)
    )
    assert re.search(rf"│ total +│ +│ +{total} │ +{total - warnings} │ +{warnings} │ +0 │", text)
    assert re.search(r"│ raw.heartbeats +│ passed with warnings +│", text)
    assert re.search(r"│ marts +│ passed +│ +(\d+) │ +\1 │ +0 │ +0 │", text)
    # no "failed" wording anywhere for a run without errors
    assert "failed" not in text.lower().replace("quarantined", "")


def test_data_docs_show_warnings_as_warnings_and_load_nothing_remote(
    backend, built, clean_reports
) -> None:
    docs = clean_reports[backend].docs_index.parent
    raw_page = next(docs.glob("validations/raw/heartbeats/heartbeat_problems/**/*.html"))
    text = raw_page.read_text(encoding="utf-8")
    assert "Passed with warnings" in text and "</i> Failed" not in text
    assert "fa-times text-danger" not in text  # each failed warning row has a warning icon
    marts_page = next(docs.glob("validations/marts/fct_activity_daily/**/*.html"))
    assert "</i> Succeeded" in marts_page.read_text(encoding="utf-8")
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert index.count("'_validation_success_text': 'Passed with warnings'") == 2

    remote = re.compile(r"<(?:script|link|img)\b[^>]*\s(?:src|href)=\"https?://|url\('?https?://")
    pages = [*docs.rglob("*.html"), *docs.glob("static/styles/*.css")]
    assert pages and not [p for p in pages if remote.search(p.read_text(encoding="utf-8"))]
    assert (docs / "static/vendor/bootstrap/bootstrap.min.css").is_file()


def test_every_failed_expectation_is_listed_one_line_each(backend, built, clean_reports) -> None:
    """Not only each suite's worst: every warning (and error) has its own line, with its
    count, below the tables (acceptance probe: warnings were never listed)."""
    raw, quarantined = _expected(built)
    report = clean_reports[backend]
    lines = _printed(report).splitlines()
    listed = [line for line in lines if re.match(r"(warning|error) [\w.]+: \w+: ", line)]
    # the raw reasons with rows (the id checks one per id column) and the quarantine's
    id_columns = sum(
        any(not _present(hb[column]) for hb in built.raw_rows("heartbeats"))
        for column in ID_COLUMNS
    )
    expected = sum(1 for r in RAW_REASONS if raw[r]) + id_columns
    expected += sum(1 for n in quarantined.values() if n)
    assert len(listed) == expected == len(report.warnings)
    for finding in report.warnings:
        line = f"warning {finding.suite}: {finding.name}: {finding.count:,}"
        assert any(printed.startswith(line) for printed in listed), line
    # raw rows are shares of the delivered rows, which the line says
    heartbeats = len(built.raw_rows("heartbeats"))
    assert any(f"of {heartbeats:,})" in line for line in listed if "raw.heartbeats" in line)


def test_examples_are_quoted_text_and_compound_keys_read_as_columns() -> None:
    """An empty string is shown as '' (it printed as nothing), a compound key by column."""
    from datetime import date

    from daybook.quality.report import Finding

    def summary(*sample) -> str:
        return Finding(
            "s", "b", "n", "t", "d", "warning", False, unexpected_count=len(sample), sample=sample
        ).summary()

    assert summary("") == "n: 1 rows, e.g. ''"
    assert summary("Mars/Olympus", None) == "n: 2 rows, e.g. 'Mars/Olympus', null"
    key = {"client_id": "c1", "activity_date": date(2026, 1, 2)}
    assert summary(key) == "n: 1 rows, e.g. (client_id='c1', activity_date=2026-01-02)"
    long = "x" * 300
    assert summary(long, "y") == f"n: 2 rows, e.g. {long!r}"  # the first always, then bounded


def test_data_docs_name_each_expectation_as_the_console_does(backend, clean_reports) -> None:
    """Each batch's Data Docs page carries the name of each of its expectations, the name
    the console prints (it said timestamps_plausible where Data Docs said
    implausible_timestamps)."""
    report = clean_reports[backend]
    docs = report.docs_index.parent
    for finding in report.findings:
        folder = "/".join(f"{finding.suite}.{finding.batch}".split("."))
        (page,) = docs.glob(f"validations/{folder}/**/*.html")
        assert finding.name in page.read_text(encoding="utf-8"), (finding.suite, finding.name)
