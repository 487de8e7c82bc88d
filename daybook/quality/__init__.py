"""Data quality: the Great Expectations suites in ``expectations/`` run against the warehouse."""

from daybook.quality.report import CheckReport, Finding, SuiteSummary
from daybook.quality.runner import run_checks

__all__ = ["CheckReport", "Finding", "SuiteSummary", "run_checks"]
