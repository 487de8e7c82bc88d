"""What a check run found, in a form the CLI, ``daybook demo`` and tests can read.

Great Expectations' own result objects are rich but deep; the report keeps
one flat ``Finding`` per expectation with the Daybook severity, the number of
offending rows (or the observed value) and a short, SQL-free detail line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from daybook.quality.suites import Severity

_SEVERITY_RANK = {"error": 2, "warning": 1}


@dataclass(frozen=True)
class Finding:
    """The outcome of one expectation."""

    suite: str
    batch: str
    name: str
    expectation_type: str
    description: str
    severity: Severity
    success: bool
    reason: str | None = None
    # rows that broke the expectation (map expectations), else None
    unexpected_count: int | None = None
    # the aggregate GX observed (row counts, proportions), else None
    observed_value: Any = None
    # a few offending values, for people reading the table
    sample: tuple[Any, ...] = ()
    # set when the expectation could not be evaluated at all (e.g. a missing relation)
    error_message: str | None = None
    # what an aggregate's observed number counts (rows, heartbeats, share), from the suite
    unit: str | None = None
    # the expectation whose observed value this count is out of, and that value
    out_of: str | None = None
    total: int | None = None

    @property
    def failed(self) -> bool:
        return not self.success

    @property
    def share(self) -> float | None:
        """The fraction of rows the finding is about, when the suite says what of: an
        observed share, or a count out of another expectation's total."""
        if self.unit == "share":
            try:
                return float(self.observed_value)
            except (TypeError, ValueError):
                return None
        if self.total and self.count is not None:
            return self.count / self.total
        return None

    @property
    def count(self) -> int | None:
        """How many rows (or units) the finding is about, when it is a whole number.

        Row-level expectations give ``unexpected_count``; the aggregate ones the
        suites use on big tables observe a count (or a difference) directly.
        """
        if self.unexpected_count is not None:
            return int(self.unexpected_count)
        value = self.observed_value
        if isinstance(value, bool) or value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return int(number) if number.is_integer() else None

    def summary(self) -> str:
        """One line: what broke and how much, with examples that identify the offending
        rows (bounded), never SQL or a traceback."""
        if self.success:
            return f"{self.name}: ok"
        if self.error_message:
            return f"{self.name}: could not be evaluated ({self.error_message})"
        if self.unexpected_count is not None:
            return f"{self.name}: {self.unexpected_count} rows{examples(self.sample)}"
        if self.unit == "share" and self.share is not None:
            return f"{self.name}: {self.share:.1%}"
        if self.count is not None:
            unit = f" {self.unit}" if self.unit else ""
            share = self.share
            of = f" ({share:.2%} of {self.total:,})" if share is not None else ""
            return f"{self.name}: {self.count:,}{unit}{of}"
        return f"{self.name}: observed {self.observed_value}"


EXAMPLE_CHARS = 240  # the examples of one line, beyond the first when it is longer


def example_text(value: Any) -> str:
    """One sample value as the report prints it: text quoted (an empty string is '', not
    nothing), a compound key as its columns, anything else as itself."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "(" + ", ".join(f"{key}={example_text(item)}" for key, item in value.items()) + ")"
    if value is None:
        return "null"
    return str(value)


def examples(sample: tuple[Any, ...], limit: int = 3) -> str:
    """', e.g. A, B' for up to ``limit`` samples: the first always, the others while the
    line stays within EXAMPLE_CHARS."""
    texts: list[str] = []
    for value in sample[:limit]:
        text = example_text(value)
        if texts and sum(map(len, texts)) + len(text) > EXAMPLE_CHARS:
            break
        texts.append(text)
    return f", e.g. {', '.join(texts)}" if texts else ""


RAW_HEARTBEATS_SUITE = "raw.heartbeats"
QUARANTINE_SUITE = "quarantine"
DUPLICATE_SHARE = "duplicate_share_within_bound"


@dataclass(frozen=True)
class SuiteSummary:
    """One suite's expectations split the way the verdict counts them.

    ``errors`` fail the check; ``warnings`` are failed warning-severity
    expectations (reported, never failing); ``passed`` held. The three add up
    to ``checks``, and summed over suites they are the verdict's numbers.
    ``unevaluated`` counts those (among the failed) that could not be evaluated at all.
    """

    suite: str
    passed: int
    warnings: int
    errors: int
    worst: Finding | None
    unevaluated: int = 0

    @property
    def checks(self) -> int:
        return self.passed + self.warnings + self.errors

    @property
    def failed(self) -> int:
        """Expectations that did not hold, whatever their severity."""
        return self.warnings + self.errors

    @property
    def evaluated(self) -> bool:
        """False when no expectation of the suite could be evaluated: its relations are
        missing (a warehouse not loaded or built yet), so its verdict would mean nothing."""
        return self.unevaluated < self.checks

    @property
    def status(self) -> str:
        """The words Data Docs use for the same outcome ("not evaluated": console only)."""
        if not self.evaluated:
            return "not evaluated"
        if self.errors:
            return "failed"
        return "passed with warnings" if self.warnings else "passed"


@dataclass(frozen=True)
class ReasonCount:
    """One quarantine reason seen from both ends of the pipeline.

    ``raw_rows``: delivered rows of ``raw.heartbeats`` with the problem, every
    copy of a re-delivered heartbeat included (None when no raw expectation
    names the reason). ``quarantined``: deduplicated heartbeats dbt set aside
    for it, one per heartbeat (its earliest-received copy), the unit the marts count.
    """

    reason: str
    raw_rows: int | None
    quarantined: int


@dataclass
class CheckReport:
    """All findings of one ``run_checks`` call."""

    findings: list[Finding] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        """Failed error-severity expectations: these fail ``daybook check``."""
        return [f for f in self.findings if f.failed and f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.failed and f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no error-severity expectation failed (warnings are allowed) and every
        suite could be evaluated."""
        return not self.errors and not self.unevaluated_suites()

    def unevaluated_suites(self) -> list[SuiteSummary]:
        """The suites none of whose expectations could be evaluated (see
        ``SuiteSummary.evaluated``): the check could not run them."""
        return [summary for summary in self.suites() if not summary.evaluated]

    def finding(self, suite: str, name: str) -> Finding:
        """The finding of expectation ``name`` in ``suite`` (KeyError when absent)."""
        for item in self.findings:
            if item.suite == suite and item.name == name:
                return item
        raise KeyError(f"no expectation {name!r} in suite {suite!r}")

    def failed_by_impact(self) -> list[Finding]:
        """Every failed expectation: errors, then warnings; within each, suite by suite in
        run order, the worst first (:func:`impact`)."""
        order = {suite: i for i, suite in enumerate(dict.fromkeys(f.suite for f in self.findings))}
        return sorted(
            (f for f in self.findings if f.failed),
            key=lambda f: (
                -_SEVERITY_RANK[f.severity],
                order[f.suite],
                tuple(-part for part in impact(f)),
            ),
        )

    def failed_names(self, suite: str | None = None) -> set[str]:
        return {f.name for f in self.findings if f.failed and suite in (None, f.suite)}

    def counts_by_reason(self, suite: str) -> dict[str, int]:
        """Rows per quarantine reason among the failed warnings of ``suite``.

        For ``quarantine`` these are deduplicated heartbeats dbt set aside; for
        the raw suites, delivered rows (every copy).
        """
        counts: Counter[str] = Counter()
        for item in self.warnings:
            if item.suite == suite and item.reason and item.count:
                counts[item.reason] += item.count
        return dict(counts)

    @property
    def passed(self) -> list[Finding]:
        return [f for f in self.findings if f.success]

    def reasons_compared(self) -> list[ReasonCount]:
        """Per quarantine reason: raw rows with the problem beside quarantined heartbeats.

        Only reasons seen at either end are listed, sorted by name. A raw
        expectation that passed counts 0 rows; several raw expectations with
        one reason (an id missing, per id column) add up.
        """
        raw: Counter[str] = Counter()
        raw_reasons: set[str] = set()
        quarantined: Counter[str] = Counter()
        for item in self.findings:
            if not item.reason or item.error_message:
                continue
            if item.suite == RAW_HEARTBEATS_SUITE:
                raw_reasons.add(item.reason)
                raw[item.reason] += item.count or 0
            elif item.suite == QUARANTINE_SUITE:
                quarantined[item.reason] += item.count or 0
        seen = {reason for reason, n in (raw + quarantined).items() if n}
        return [
            ReasonCount(reason, raw[reason] if reason in raw_reasons else None, quarantined[reason])
            for reason in sorted(seen)
        ]

    def duplicate_share(self) -> float | None:
        """The share of delivered heartbeat rows that are extra copies, when it was measured."""
        for item in self.findings:
            if item.suite == RAW_HEARTBEATS_SUITE and item.name == DUPLICATE_SHARE:
                try:
                    return float(item.observed_value)
                except (TypeError, ValueError):
                    return None
        return None

    def suites(self) -> list[SuiteSummary]:
        """Per suite, in run order: passed, warnings, errors and the worst finding."""
        order: list[str] = []
        by_suite: dict[str, list[Finding]] = {}
        for item in self.findings:
            if item.suite not in by_suite:
                order.append(item.suite)
                by_suite[item.suite] = []
            by_suite[item.suite].append(item)
        summaries = []
        for suite in order:
            items = by_suite[suite]
            failed = [f for f in items if f.failed]
            errors = sum(f.severity == "error" for f in failed)
            worst = max(failed, key=impact, default=None)
            unevaluated = sum(f.error_message is not None for f in failed)
            summaries.append(
                SuiteSummary(
                    suite,
                    len(items) - len(failed),
                    len(failed) - errors,
                    errors,
                    worst,
                    unevaluated,
                )
            )
        return summaries


def impact(finding: Finding) -> tuple[int, int, float, int]:
    """How bad a finding is, to rank the findings of one suite: errors above warnings,
    then one that could not be evaluated, then the larger share of rows (where the suite
    says what of: 53.9% of rows duplicated outranks 20 invalid rows of 200,000), then the
    larger count."""
    share = finding.share
    return (
        _SEVERITY_RANK[finding.severity],
        int(finding.error_message is not None),
        -1.0 if share is None else share,
        abs(finding.count or 0),
    )


def resolve_totals(findings: list[Finding]) -> list[Finding]:
    """``findings`` with ``total`` filled where ``out_of`` names another expectation of the
    suite (its observed count), so shares can be printed and ranked."""
    counts = {(f.suite, f.name): f.count for f in findings if f.error_message is None}
    return [
        replace(f, total=counts.get((f.suite, f.out_of))) if f.out_of is not None else f
        for f in findings
    ]
