"""``daybook build``: the command, its progress line and its summary table.

The build itself is :func:`daybook.build.run.run_build`; publishing it to the API is
:func:`daybook.pipeline.build_and_publish`. This module only talks to the terminal.
"""

from __future__ import annotations

from typing import Any

import click

from daybook.build.results import OUTCOMES, BuildResult, Built, NodeResult
from daybook.build.run import run_build
from daybook.cli_errors import Interrupted
from daybook.config import Warehouse, warehouse_from_env
from daybook.pipeline import build_and_publish
from daybook.publishers import publisher_for
from daybook.serving.pointer import ServingError


@click.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from raw.")
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="Only these dbt selectors (repeatable), e.g. -s fct_activity_daily+.",
)
@click.option(
    "--unit-tests",
    is_flag=True,
    help="Also run dbt's unit tests of the models' SQL (for CI and development).",
)
def build(full_refresh: bool, select: tuple[str, ...], unit_tests: bool) -> None:
    """Build the marts with dbt: models and data tests.

    Incremental unless --full-refresh: only heartbeats received since the last
    build are processed. Exits non-zero and names the failing nodes on failure.
    """
    from rich.console import Console

    console = Console(stderr=True)
    warehouse = warehouse_from_env()
    # before dbt: what the API refuses stops here, with the warehouse as it was (no column
    # checks yet: the build may be adding the columns the YAML names)
    _refuse_what_the_api_refuses(check_manifest=False, after=None)
    done: list[NodeResult] = []

    with console.status(f"dbt build on {warehouse.backend}: starting") as status:

        def on_node(node: NodeResult) -> None:
            done.append(node)
            status.update(
                f"dbt build on {warehouse.backend}: {len(done)} nodes done, last {node.name}"
            )
            if node.failed or node.status == "warn":
                console.print(f"  [red]{node.status.upper()}[/] {node.type} {node.name}")

        def dbt_build(target: Warehouse) -> BuildResult:
            return run_build(
                target,
                full_refresh=full_refresh,
                select=list(select) or None,
                unit_tests=unit_tests,
                on_node=on_node,
            )

        def on_built(result: Built) -> None:
            status.stop()  # the summary, then (on success) the publish
            stage[0] = "publishing"
            error = getattr(result, "error", None)
            if not result.success and error and not getattr(result, "nodes", None):
                # stopped before any node ran (a selection matching nothing, no connection):
                # its reason alone, not an empty table
                raise click.ClickException(f"dbt build failed: {error}")
            _print_summary(console, result)
            if not result.success:
                failing = ", ".join(node.name for node in result.failed_nodes)
                raise click.ClickException(f"dbt build failed: {failing or 'see the error above'}")

        stage = ["building"]
        publisher = publisher_for(warehouse)  # a bad serving URL fails before building
        try:
            outcome = build_and_publish(
                warehouse, build=dbt_build, on_built=on_built, publisher=publisher
            )
        except KeyboardInterrupt:
            raise Interrupted(_interrupted(stage[0], publisher.in_place)) from None
        except ServingError as error:  # e.g. a partial build (--select) on a new warehouse
            raise click.ClickException(
                f"the build succeeded but was not published: {error}"
            ) from None
    if outcome.publication is not None:
        # The API reads published snapshots, never the build file (see daybook.serving).
        console.print(f"Published serving snapshot {outcome.publication.name}")
    # after: the columns the YAML names, against the dbt manifest this build wrote
    _refuse_what_the_api_refuses(check_manifest=True, after="The marts are built and served")


def _interrupted(stage: str, in_place: bool) -> str:
    """What Ctrl-C left: the line ``daybook build`` ends with (exit code 130)."""
    if stage == "publishing":
        return "interrupted while publishing the build: `daybook refresh` publishes it"
    if in_place:  # PostgreSQL: the API reads the tables dbt writes
        return (
            "interrupted; the build stopped part way: the models it finished are already "
            "served, the others as before (build again to finish)"
        )
    return (
        "interrupted; the build stopped part way and nothing was published (the API serves "
        "what it served before)"
    )


def _refuse_what_the_api_refuses(*, check_manifest: bool, after: str | None) -> None:
    """Load the semantic catalogue as the API and ``daybook metrics`` do and fail the
    command with the same message when they would refuse it.

    Why: dbt accepts what Daybook refuses (a misspelt dimension inside a ``filter:``, SQL
    it cannot compile, a column the mart does not have), and an API started on such YAML
    cannot boot. Called before dbt (``after`` None: nothing is built), then after the
    build and its publish with the columns checked against the manifest it wrote.
    """
    from daybook.semantic.errors import SemanticError
    from daybook.semantic.loader import load_catalog

    try:
        load_catalog(check_manifest=check_manifest)
    except SemanticError as error:
        done = f"{after}, but the API" if after else "Nothing was built: the API"
        raise click.ClickException(
            f"{error}\n{done} and `daybook metrics` refuse this semantic YAML (an API "
            "started on it cannot boot): fix it and build again."
        ) from None


def _print_summary(console: Any, result: BuildResult) -> None:
    from rich.table import Table

    table = Table(title="dbt build", title_justify="left")
    table.add_column("node type")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    counts = result.counts()
    for node_type in sorted({node_type for node_type, _ in counts}):
        table.add_row(
            f"{node_type}s",
            *(str(counts.get((node_type, outcome), 0)) for outcome in OUTCOMES),
        )
    console.print(table)
    for node in result.failed_nodes:
        message = " ".join((node.message or "").split())[:500]
        console.print(f"[red]{node.status.upper()}[/] {node.type} [bold]{node.name}[/]: {message}")
    if result.error:
        console.print(f"[red]error:[/] {result.error}")
    verdict = "[green]succeeded[/]" if result.success else "[red]FAILED[/]"
    console.print(f"build {verdict} in {result.seconds:.1f}s")
