"""``daybook check``: run the data-quality suites and fail on error-severity findings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from daybook.config import ConfigError, warehouse_from_env
from daybook.quality.report import CheckReport, Finding
from daybook.quality.runner import DEFAULT_DOCS_DIR
from daybook.quality.suites import SuiteFileError
from daybook.warehouse import WarehouseUnavailable

# Failed expectations listed one line each (errors first, the worst first), then a count
# of the rest: Data Docs show them all.
MAX_FINDING_LINES = 40
_STATUS_STYLE = {
    "passed": "green",
    "passed with warnings": "yellow",
    "failed": "red",
    "not evaluated": "red",
}
# What to run when a suite could not be evaluated at all: its tables do not exist yet.
NOT_EVALUATED_HINT = (
    "A suite not evaluated reads tables that do not exist yet: load the raw tables "
    "(`daybook load TABLE FILE...`) and build the warehouse (`daybook build`) before "
    "checking it."
)
# Printed under the reasons table: why its two columns differ (issue 12).
REASONS_NOTE = (
    "raw rows counts every delivered row: delivery is at least once, so a heartbeat sent "
    "twice is two rows{share}. The quarantine holds each heartbeat once, its "
    "earliest-received copy, deduplicated as the marts are; rows without a heartbeat_id "
    "cannot be matched as copies and each stays its own heartbeat. A raw row missing "
    "several ids counts once per missing id."
)


class CheckCannotRun(click.ClickException):
    """The check could not run at all (bad configuration): exit 2, unlike a failed check."""

    exit_code = 2


def _worst(finding: Finding | None) -> str:
    """The worst finding of a suite (by impact: ``report.impact``), without its examples
    (the lines below the tables list them)."""
    if finding is None:
        return "-"
    style = "red" if finding.severity == "error" else "yellow"
    text = replace(finding, sample=()).summary()
    return f"[{style}]{finding.severity}[/]: {escape(text)}"


def _suites_table(report: CheckReport) -> Table:
    table = Table(title="Data quality: expectations per suite")
    for name, justify in (
        ("suite", "left"),
        ("status", "left"),
        ("checks", "right"),
        ("passed", "right"),
        ("warnings", "right"),
        ("errors", "right"),
        ("worst finding", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    summaries = report.suites()
    for summary in summaries:
        table.add_row(
            summary.suite,
            f"[{_STATUS_STYLE[summary.status]}]{summary.status}[/]",
            str(summary.checks),
            str(summary.passed),
            f"[yellow]{summary.warnings}[/]" if summary.warnings else "0",
            f"[red]{summary.errors}[/]" if summary.errors else "0",
            _worst(summary.worst),
        )
    table.add_section()
    table.add_row(
        "total",
        "",
        str(sum(s.checks for s in summaries)),
        str(len(report.passed)),
        str(len(report.warnings)),
        str(len(report.errors)),
        "",
    )
    return table


def _reasons_table(report: CheckReport) -> Table | None:
    rows = report.reasons_compared()
    if not rows:
        return None
    table = Table(
        title="Invalid heartbeats by quarantine reason (warnings: kept out of every metric)"
    )
    table.add_column("reason")
    table.add_column("raw rows (every copy)", justify="right")
    table.add_column("quarantined heartbeats (deduplicated)", justify="right")
    for row in rows:
        raw = "-" if row.raw_rows is None else str(row.raw_rows)
        table.add_row(row.reason, raw, str(row.quarantined))
    return table


def verdict_line(report: CheckReport) -> str:
    """The last line: the verdict and the same counts as the table's total row."""
    counts = (
        f"{len(report.errors)} errors, {len(report.warnings)} warnings, {len(report.passed)} passed"
    )
    unevaluated = [summary.suite for summary in report.unevaluated_suites()]
    if unevaluated:
        head = f"[red]could not run[/] (not evaluated: {', '.join(unevaluated)})"
    elif report.ok:
        head = "[green]passed[/]" if not report.warnings else "[yellow]passed with warnings[/]"
    else:
        head = "[red]failed[/]"
    return f"Check {head}: {counts} ({report.seconds:.1f} s)"


def render(report: CheckReport, console: Console) -> None:
    """What the command prints: suites, invalid heartbeats by reason, errors, the verdict."""
    console.print(_suites_table(report))
    reasons = _reasons_table(report)
    if reasons is not None:
        console.print(reasons)
        share = report.duplicate_share()
        share_text = f"; {share:.1%} of delivered rows here are extra copies" if share else ""
        console.print(REASONS_NOTE.format(share=share_text), highlight=False)
    unevaluated = report.unevaluated_suites()
    skipped = {summary.suite for summary in unevaluated}
    failed = [f for f in report.failed_by_impact() if f.suite not in skipped]
    for finding in failed[:MAX_FINDING_LINES]:
        style = "red" if finding.severity == "error" else "yellow"
        console.print(
            f"[{style}]{finding.severity}[/] {finding.suite}: {escape(finding.summary())}",
            highlight=False,
        )
    if len(failed) > MAX_FINDING_LINES:
        console.print(
            f"... and {len(failed) - MAX_FINDING_LINES} more failed expectations (see Data Docs)"
        )
    for summary in unevaluated:  # one line, not one per expectation with the same cause
        cause = summary.worst.error_message if summary.worst else None
        console.print(
            f"[red]not evaluated[/] {summary.suite}: none of its {summary.checks} "
            f"expectations could be evaluated ({escape(cause or 'no result')})",
            highlight=False,
        )
    if report.docs_index is not None:
        console.print(f"Data Docs: {report.docs_index}")
    console.print(verdict_line(report), highlight=False)
    if unevaluated:
        console.print(NOT_EVALUATED_HINT, highlight=False)


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
    the check cannot run (no warehouse, a bad suite file, or a suite none of whose
    expectations could be evaluated: a warehouse not loaded or built yet); warnings
    (invalid raw rows, quarantined by dbt) are reported without failing.
    """
    from daybook.quality.runner import run_checks

    console = Console()
    try:
        warehouse = warehouse_from_env()
        # GX runs every batch in one checkpoint, with no hook per batch: a spinner shows
        # it is working (on a terminal only), the verdict line gives the time
        with console.status(f"Running the data-quality suites on {warehouse.backend}…"):
            report = run_checks(warehouse, docs_dir=docs_dir, suites=suites or None)
    except (ConfigError, SuiteFileError, WarehouseUnavailable) as exc:
        raise CheckCannotRun(str(exc)) from None
    render(report, console)
    if report.unevaluated_suites():
        raise SystemExit(CheckCannotRun.exit_code)
    if not report.ok:
        raise SystemExit(1)
