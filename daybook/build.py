"""``daybook build``: run the dbt project (models, data tests, unit tests) programmatically.

dbt is driven through its Python entry point (``dbtRunner``) rather than a
subprocess, so results come back as objects we can summarise and test. Each
warehouse gets its own dbt target and log folders under ``warehouse.state_dir``,
so builds of different warehouses (tests run several at once) never share
``target/``; ``manifest_path`` tells the semantic layer where that warehouse's
manifest is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from daybook.config import Warehouse, project_dir, warehouse_from_env
from daybook.dbt_paths import dbt_dir, target_path
from daybook.dbt_paths import manifest_path as manifest_path  # re-exported for callers
from daybook.raw_schema import RAW_SCHEMA, RAW_TABLES
from daybook.warehouse import connection, duckdb_profile_env

PROFILE_SUBDIR = Path("dbt_project") / "profiles"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class NodeResult:
    """One dbt node's outcome: a model, data test, unit test, seed or snapshot."""

    name: str
    type: str  # "model", "test", "unit_test", ...
    status: str  # "success", "pass", "warn", "fail", "error", "skipped"
    message: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass
class BuildResult:
    """What a build did: overall success, one ``NodeResult`` per node, elapsed time."""

    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # a failure before any node ran (parse error, no connection)

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.failed]

    def counts(self) -> dict[tuple[str, str], int]:
        """(node type, outcome) -> number of nodes, outcome in passed/warned/failed/skipped."""
        out: dict[tuple[str, str], int] = {}
        for node in self.nodes:
            key = (node.type, _outcome(node.status))
            out[key] = out.get(key, 0) + 1
        return out

    def summary(self) -> str:
        """A few readable lines: totals per node type, then every failing node with its message."""
        state = "succeeded" if self.success else "FAILED"
        lines = [f"dbt build {state} in {self.seconds:.1f}s"]
        if self.error:
            lines.append(f"  error: {self.error}")
        counts = self.counts()
        for node_type in sorted({node_type for node_type, _ in counts}):
            parts = [
                f"{counts[(node_type, outcome)]} {outcome}"
                for outcome in ("passed", "warned", "failed", "skipped")
                if counts.get((node_type, outcome))
            ]
            lines.append(f"  {node_type}s: {', '.join(parts)}")
        for node in self.failed_nodes:
            message = " ".join((node.message or "").split())[:300]
            lines.append(f"  {node.status.upper()}: {node.type} {node.name}: {message}")
        return "\n".join(lines)


def _outcome(status: str) -> str:
    if status in {"success", "pass"}:
        return "passed"
    if status == "warn":
        return "warned"
    if status == "skipped":
        return "skipped"
    return "failed"


# --- locations ---------------------------------------------------------------------------


def profiles_dir() -> Path:
    return project_dir() / PROFILE_SUBDIR


def default_duckdb_memory_limit() -> str:
    """Half the machine's memory, for a DuckDB build.

    DuckDB's own default (80% of memory) left too little for everything else
    on the machine at 25 million heartbeats; above this limit DuckDB spills to
    a temporary folder beside the warehouse file instead of growing.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, total // 2 // 1024**2)}MB"


def dbt_env(warehouse: Warehouse) -> dict[str, str]:
    """Environment variables ``dbt_project/profiles/profiles.yml`` reads for this warehouse."""
    env = {"DAYBOOK_DBT_TARGET": warehouse.backend}
    if warehouse.backend == "duckdb":
        assert warehouse.duckdb_path is not None
        env |= duckdb_profile_env(warehouse.duckdb_path)  # the file, attached as `daybook`
        env["DAYBOOK_DUCKDB_MEMORY_LIMIT"] = os.environ.get(
            "DAYBOOK_DUCKDB_MEMORY_LIMIT", default_duckdb_memory_limit()
        )
    else:
        env |= {
            "DAYBOOK_PG_HOST": warehouse.host,
            "DAYBOOK_PG_PORT": str(warehouse.port),
            "DAYBOOK_PG_USER": warehouse.user,
            "DAYBOOK_PG_DBNAME": warehouse.dbname,
            # DBT_ENV_SECRET_ values are scrubbed from dbt's logs and messages.
            "DBT_ENV_SECRET_DAYBOOK_PG_PASSWORD": warehouse.password,
        }
    return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation, then restore the previous ones."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- running dbt -------------------------------------------------------------------------


def run_dbt(
    warehouse: Warehouse,
    args: list[str],
    *,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Invoke dbt (``dbtRunner``) on this project against ``warehouse``; the dbtRunnerResult.

    ``args`` is the dbt command and its own options (``["build", "--full-refresh"]``,
    ``["docs", "generate"]``, ``["parse"]``); project, profiles, target and
    per-warehouse artifact paths are added here.
    """
    from dbt.cli.main import dbtRunner

    folder = dbt_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(project_dir()),
        "--profiles-dir",
        str(profiles_dir()),
        "--target",
        warehouse.backend,
        "--target-path",
        str(target_path(warehouse)),
        "--log-path",
        str(folder / "logs"),
    ]
    env = dbt_env(warehouse) | {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with _environment(env):
        return dbtRunner(callbacks=callbacks or []).invoke(command)


def ensure_raw_tables(warehouse: Warehouse) -> None:
    """Create the ``raw`` schema and the contract's four raw tables when missing.

    dbt's sources must exist before the models can be built, so a build on an empty
    warehouse produces empty marts instead of failing.
    """
    with connection(warehouse) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in RAW_TABLES.values():
            con.execute(table.create_sql())
        con.commit()


def run_build(
    warehouse: Warehouse,
    *,
    full_refresh: bool = False,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
    on_node: Callable[[NodeResult], None] | None = None,
) -> BuildResult:
    """``dbt build`` (models, unit tests, data tests) against ``warehouse``.

    Incremental by default: only newly received heartbeats are processed.
    ``full_refresh`` rebuilds every incremental model from raw. ``select`` limits the
    build to dbt selectors, ``exclude`` leaves some out (``["resource_type:test"]``).
    ``on_node`` is called as each node finishes (progress).
    """
    started = time.perf_counter()
    try:
        ensure_raw_tables(warehouse)
    except Exception as exc:
        return BuildResult(
            success=False,
            seconds=time.perf_counter() - started,
            error=f"cannot prepare the raw schema in {warehouse.backend} warehouse: {exc}",
        )
    marks = _raw_marks(warehouse) if not select else None
    args = ["build", "--quiet"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    callbacks = [_progress_callback(on_node)] if on_node else None
    outcome = run_dbt(warehouse, args, callbacks=callbacks)
    nodes = node_results(outcome.result)
    error = None
    if outcome.exception is not None:
        error = " ".join(str(outcome.exception).split())
    elif not outcome.success and not any(node.failed for node in nodes):
        error = "dbt reported a failure without a failing node; see the dbt log"
    if outcome.success and marks is not None:
        from daybook.refresh_state import save_state

        save_state(warehouse, marks)
    return BuildResult(
        success=bool(outcome.success),
        nodes=nodes,
        seconds=time.perf_counter() - started,
        error=error,
    )


def _raw_marks(warehouse: Warehouse) -> Any:
    """What raw holds before the models run (``daybook.refresh_state.raw_marks``), or None.

    Saved as the refresh state once the build succeeds, so the first ``daybook refresh``
    after a build (``daybook demo`` too) skips when nothing arrived instead of
    rebuilding: before, only refresh cycles wrote that state. Taken before dbt reads
    raw, so rows arriving during the build are seen by the next cycle. A failure here
    only costs that cycle its skip, never the build.
    """
    from daybook.refresh_state import raw_marks

    try:
        return raw_marks(warehouse)
    except Exception:
        return None


def node_results(result: Any) -> list[NodeResult]:
    """NodeResults from a dbt RunExecutionResult (empty when dbt stopped before running)."""
    nodes = []
    for item in getattr(result, "results", None) or []:
        node = item.node
        nodes.append(
            NodeResult(
                name=node.name,
                type=str(getattr(node.resource_type, "value", node.resource_type)),
                status=str(getattr(item.status, "value", item.status)),
                message=str(item.message or ""),
                seconds=float(item.execution_time or 0.0),
            )
        )
    return nodes


def _progress_callback(on_node: Callable[[NodeResult], None]) -> Callable[[Any], None]:
    """A dbt event callback that reports each finished node to ``on_node``."""

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info = event.data.run_result
        node_info = event.data.node_info
        resource = node_info.resource_type or "node"
        on_node(
            NodeResult(
                name=node_info.node_name,
                type=resource,
                status=info.status,
                message=info.message,
                seconds=float(info.execution_time or 0.0),
            )
        )

    return callback


# --- command line ------------------------------------------------------------------------


@click.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from raw.")
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="Only these dbt selectors (repeatable), e.g. -s fct_activity_daily+.",
)
def build(full_refresh: bool, select: tuple[str, ...]) -> None:
    """Build the marts with dbt: models, unit tests and data tests.

    Incremental unless --full-refresh: only heartbeats received since the last
    build are processed. Exits non-zero and names the failing nodes on failure.
    """
    from rich.console import Console

    console = Console(stderr=True)
    warehouse = warehouse_from_env()
    done: list[NodeResult] = []

    with console.status(f"dbt build on {warehouse.backend}: starting") as status:

        def on_node(node: NodeResult) -> None:
            done.append(node)
            status.update(
                f"dbt build on {warehouse.backend}: {len(done)} nodes done, last {node.name}"
            )
            if node.failed or node.status == "warn":
                console.print(f"  [red]{node.status.upper()}[/] {node.type} {node.name}")

        result = run_build(
            warehouse, full_refresh=full_refresh, select=list(select) or None, on_node=on_node
        )
    _print_summary(console, result)
    if not result.success:
        failing = ", ".join(node.name for node in result.failed_nodes) or "see the error above"
        raise click.ClickException(f"dbt build failed: {failing}")
    if warehouse.backend == "duckdb":
        # The API reads published snapshots, never the build file (see daybook.serving).
        from daybook.serving import publish_snapshot

        snapshot = publish_snapshot(warehouse)
        console.print(f"Published serving snapshot {snapshot.name}")


def _print_summary(console: Any, result: BuildResult) -> None:
    from rich.table import Table

    table = Table(title="dbt build", title_justify="left")
    table.add_column("node type")
    for outcome in ("passed", "warned", "failed", "skipped"):
        table.add_column(outcome, justify="right")
    counts = result.counts()
    for node_type in sorted({node_type for node_type, _ in counts}):
        table.add_row(
            f"{node_type}s",
            *(
                str(counts.get((node_type, outcome), 0))
                for outcome in ("passed", "warned", "failed", "skipped")
            ),
        )
    console.print(table)
    for node in result.failed_nodes:
        message = " ".join((node.message or "").split())[:500]
        console.print(f"[red]{node.status.upper()}[/] {node.type} [bold]{node.name}[/]: {message}")
    if result.error:
        console.print(f"[red]error:[/] {result.error}")
    verdict = "[green]succeeded[/]" if result.success else "[red]FAILED[/]"
    console.print(f"build {verdict} in {result.seconds:.1f}s")
