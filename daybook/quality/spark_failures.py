"""A batch whose query Spark refuses, reported as GX reports a failing SQL batch.

On DuckDB and PostgreSQL a batch query that fails (a mart not built yet) reaches GX,
which marks every expectation of the batch as raising that error; the findings and
the Data Docs page then name the problem. Spark analyses a query when the DataFrame is
made, before GX can see it, so this module writes the same result GX would: every
expectation failed with the error's first line (never the SQL), stored in the
context's validation results so Data Docs show the batch like any other.
"""

from __future__ import annotations

from typing import Any

from daybook.quality.findings import batch_findings
from daybook.quality.report import Finding
from daybook.quality.suites import BatchSpec, SuiteSpec


def _failed_result(definition: Any, message: str, run_id: Any) -> Any:
    """The suite validation result of a batch that could not be read."""
    from great_expectations import __version__ as gx_version
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    results = [
        ExpectationValidationResult(
            success=False,
            expectation_config=gx_expectation.configuration,
            exception_info={
                "raised_exception": True,
                "exception_message": message,
                "exception_traceback": message,  # no trace to show: Spark said only this
            },
        )
        for gx_expectation in definition.suite.expectations
    ]
    count = len(results)
    return ExpectationSuiteValidationResult(
        success=False,
        results=results,
        suite_name=definition.suite.name,
        statistics={
            "evaluated_expectations": count,
            "successful_expectations": 0,
            "unsuccessful_expectations": count,
            "success_percent": 0.0 if count else None,
        },
        meta={
            "expectation_suite_name": definition.suite.name,
            "run_id": run_id,
            "validation_time": run_id.run_time,
            "great_expectations_version": gx_version,
            "batch_spec": {"data_asset_name": definition.asset.name, "error": message},
            "active_batch_definition": {
                "datasource_name": definition.data_source.name,
                "data_asset_name": definition.asset.name,
            },
        },
        batch_id=definition.name,
    )


def store_validation_result(context: Any, result: Any, suite_name: str, batch_id: str) -> None:
    """Keep ``result`` in ``context``'s validation results store under its suite, run and
    batch: what Data Docs renders (a failed batch's page, a Spark batch's query)."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite_id = ExpectationSuiteIdentifier(name=suite_name)
    context.validation_results_store.store_validation_results(
        suite_validation_result=result,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=result.meta["run_id"],
            batch_identifier=batch_id,
        ),
        expectation_suite_identifier=suite_id,
    )


def record_failed_batch(
    context: Any, suite: SuiteSpec, batch: BatchSpec, definition: Any, message: str, run_id: Any
) -> list[Finding]:
    """Store the failed batch's result in ``context`` (for Data Docs); its findings."""
    result = _failed_result(definition, message, run_id)
    store_validation_result(context, result, definition.suite.name, definition.name)
    return batch_findings(suite, batch, result)
