"""What Great Expectations returned, as Daybook's findings: one :class:`Finding` per
expectation, with a one-line error free of SQL and a few sample values.

Apart from ``runner.py`` (which drives GX) because this is the part that reads GX's
result objects, whose shape changes between GX releases.
"""

from __future__ import annotations

import re
from typing import Any

from daybook.cli_errors import first_line
from daybook.quality.report import Finding
from daybook.quality.suites import BatchSpec, ExpectationSpec, SuiteSpec

_SAMPLE_SIZE = 5


def root_cause_line(exc: BaseException) -> str:
    """The root cause's first line, without the SQL SQLAlchemy appends (``[SQL: ...]``)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return first_line(exc, limit=200).split("[SQL:")[0].strip()


def _short_error(result: Any) -> str | None:
    """The first exception GX met evaluating an expectation, reduced to one SQL-free line."""
    info = result.exception_info or {}
    candidates = info.values() if "raised_exception" not in info else [info]
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            message = str(item.get("exception_message") or "error")
            first = message.strip().splitlines()[0] if message.strip() else "error"
            # "(_duckdb.CatalogException) Catalog Error: ..." -> "Catalog Error: ..."
            first = re.sub(r"^\([\w.]+\)\s*", "", first)
            return first.split("[SQL:")[0].strip()[:200]
    return None


def finding(suite: SuiteSpec, batch: BatchSpec, spec: ExpectationSpec, result: Any) -> Finding:
    details = result.result or {}
    error = _short_error(result)
    sample: tuple[Any, ...] = ()
    if details.get("partial_unexpected_list"):
        sample = tuple(details["partial_unexpected_list"][:_SAMPLE_SIZE])
    elif isinstance(details.get("details"), dict) and details["details"].get("unexpected_rows"):
        sample = tuple(details["details"]["unexpected_rows"][:_SAMPLE_SIZE])
    return Finding(
        suite=suite.suite,
        batch=batch.name,
        name=spec.name,
        expectation_type=spec.type,
        description=spec.description,
        severity=spec.severity,
        success=bool(result.success) and error is None,
        reason=spec.reason,
        unexpected_count=details.get("unexpected_count"),
        observed_value=details.get("observed_value"),
        sample=sample,
        error_message=error,
        unit=spec.unit,
        out_of=spec.out_of,
    )


def batch_findings(suite: SuiteSpec, batch: BatchSpec, run: Any) -> list[Finding]:
    """One finding per expectation of ``batch``, from GX's validation result ``run``."""
    by_name = {r.expectation_config.meta["daybook_name"]: r for r in run.results}
    return [finding(suite, batch, spec, by_name[spec.name]) for spec in batch.expectations]


def match_results(
    definitions: list[tuple[SuiteSpec, BatchSpec, Any]], checkpoint_result: Any
) -> list[Finding]:
    by_suite_name = {run.suite_name: run for run in checkpoint_result.run_results.values()}
    findings = []
    for suite, batch, definition in definitions:
        findings.extend(batch_findings(suite, batch, by_suite_name[definition.suite.name]))
    return findings
