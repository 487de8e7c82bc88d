"""The Great Expectations objects a batch becomes, whatever the warehouse.

Shared by the SQL path (``runner``: DuckDB, PostgreSQL, one query asset per batch) and
the Spark path (``spark_runner``: one DataFrame asset per batch), so both validate the
same expectations with the same meta (Daybook name, severity, quarantine reason), the
same GX severity and the same result format, and Data Docs read the same on every
backend.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from daybook.quality.suites import BatchSpec, ExpectationSpec, SuiteSpec

_GX_SEVERITY = {"error": "critical", "warning": "warning"}
# Counts plus at most 20 sample values per expectation: never a whole batch.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}


def quiet_offline_gx() -> None:
    """GX must not phone home; set before GX is imported."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    for name in ("great_expectations", "great_expectations.core", "posthog"):
        logging.getLogger(name).setLevel(logging.ERROR)


def batch_label(suite: SuiteSpec, batch: BatchSpec) -> str:
    """The name of a batch's GX asset, suite and validation definition."""
    return f"{suite.suite}.{batch.name}"


def expectation(spec: ExpectationSpec) -> Any:
    """The GX expectation for ``spec``, carrying Daybook's name and severity in its meta."""
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    meta = {"daybook_name": spec.name, "daybook_severity": spec.severity}
    if spec.reason:
        meta["quarantine_reason"] = spec.reason
    configuration = ExpectationConfiguration(
        type=spec.type,
        kwargs=dict(spec.kwargs),
        meta=meta,
        # the Daybook name leads, so Data Docs show the name the console prints
        description=f"[{spec.severity}] {spec.name}: {spec.description}",
        severity=_GX_SEVERITY[spec.severity],
    )
    return configuration.to_domain_obj()


def add_validation_definition(
    context: Any, suite: SuiteSpec, batch: BatchSpec, batch_definition: Any
) -> Any:
    """Register the batch's expectation suite and its validation definition with ``context``."""
    import great_expectations as gx

    label = batch_label(suite, batch)
    gx_suite = gx.ExpectationSuite(
        name=label,
        expectations=[expectation(spec) for spec in batch.expectations],
        meta={"notes": batch.description},
    )
    gx_suite = context.suites.add(gx_suite)
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=label, data=batch_definition, suite=gx_suite)
    )
