"""``daybook check``: run the data-quality suites and fail on error-severity findings."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from daybook.config import ConfigError, warehouse_from_env
from daybook.quality.report import CheckReport
from daybook.quality.runner import DEFAULT_DOCS_DIR, WarehouseUnavailable
from daybook.quality.suites import SuiteFileError

QUARANTINE_SUITE = "quarantine"
MAX_ERROR_LINES = 10


class CheckCannotRun(click.ClickException):
    """The check could not run at all (bad configuration): exit 2, unlike a failed check."""

    exit_code = 2


def render(report: CheckReport, console: Console) -> None:
    """The short table the command prints: one line per suite, then the verdict."""
    table = Table(title="Data quality")
    table.add_column("suite")
    table.add_column("passed", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("worst finding")
    for summary in report.suites():
        worst = "-"
        if summary.worst is not None:
            style = "red" if summary.worst.severity == "error" else "yellow"
            worst = f"[{style}]{summary.worst.severity}[/]: {summary.worst.summary()}"
        failed = f"[red]{summary.failed}[/]" if summary.failed else "0"
        table.add_row(summary.suite, str(summary.passed), failed, worst)
    console.print(table)
    reasons = report.counts_by_reason(QUARANTINE_SUITE)
    if reasons:
        listed = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        console.print(f"Quarantined heartbeats by reason (warnings): {listed}")
    for finding in report.errors[:MAX_ERROR_LINES]:
        console.print(f"[red]error[/] {finding.suite}: {finding.summary()}", highlight=False)
    if len(report.errors) > MAX_ERROR_LINES:
        console.print(f"... and {len(report.errors) - MAX_ERROR_LINES} more errors (see Data Docs)")
    if report.docs_index is not None:
        console.print(f"Data Docs: {report.docs_index}")
    verdict = "[green]passed[/]" if report.ok else f"[red]failed: {len(report.errors)} errors[/]"
    console.print(
        f"Check {verdict} ({len(report.warnings)} warnings, {report.seconds:.1f} s)",
        highlight=False,
    )


@click.command()
@click.option(
    "--docs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DOCS_DIR,
    show_default=True,
    help="Where to write the Great Expectations Data Docs (HTML); the previous run's pages "
    "there are replaced.",
)
@click.option(
    "--suite",
    "suites",
    multiple=True,
    help="Run only this suite (repeatable), e.g. --suite marts. Default: every suite.",
)
def check(docs_dir: Path, suites: tuple[str, ...]) -> None:
    """Run the Great Expectations suites in expectations/ against the warehouse.

    Exits 1 when an error-severity expectation fails (a broken mart), 2 when
    the check cannot run; warnings (invalid raw rows, quarantined by dbt) are
    reported without failing.
    """
    from daybook.quality.runner import run_checks

    console = Console()
    try:
        warehouse = warehouse_from_env()
        report = run_checks(warehouse, docs_dir=docs_dir, suites=suites or None)
    except (ConfigError, SuiteFileError, WarehouseUnavailable) as exc:
        raise CheckCannotRun(str(exc)) from None
    render(report, console)
    if not report.ok:
        raise SystemExit(1)
