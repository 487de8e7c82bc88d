"""What a dbt invocation did, node by node: the results every build and refresh reports.

dbt's own result objects are turned into :class:`NodeResult` and :class:`BuildResult`
here, once, for ``dbt build`` and ``dbt run`` alike, and for the progress events dbt
sends while it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
OUTCOMES = ("passed", "warned", "failed", "skipped")


class Built(Protocol):
    """What any build returns: a :class:`BuildResult`, or a test's stand-in."""

    success: bool

    def summary(self) -> str: ...


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
                for outcome in OUTCOMES
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


def build_result(outcome: Any, seconds: float) -> BuildResult:
    """The :class:`BuildResult` of a ``dbtRunnerResult`` that took ``seconds``.

    ``error`` says why dbt failed when no node did: the exception dbt raised (a parse
    error, no connection), or that it reported a failure without one.
    """
    nodes = node_results(outcome.result)
    error = None
    if outcome.exception is not None:
        error = " ".join(str(outcome.exception).split())
    elif not outcome.success and not any(node.failed for node in nodes):
        error = "dbt reported a failure without a failing node; see the dbt log"
    return BuildResult(success=bool(outcome.success), nodes=nodes, seconds=seconds, error=error)


def progress_callback(on_node: Callable[[NodeResult], None]) -> Callable[[Any], None]:
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
