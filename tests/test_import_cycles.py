"""No import cycle among daybook's and the API's modules, deferred (function-level)
imports included.

``daybook.build`` and ``daybook.refresh`` used to import each other inside functions,
and ``daybook.build`` and ``daybook.serving`` too; now the build imports neither (the
refresh state lives in ``daybook.refresh_state``, dbt's artifacts in
``daybook.dbt_artifacts``, and ``daybook.pipeline`` builds then publishes). A deferred
import cycle works until someone hoists the import, so the graph is read from every
``import`` statement in the packages' source, wherever it sits.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("daybook", "api")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The modules ``path`` imports (``from daybook.x import y`` names x.y if that is a
    module, else x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    paths = {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    return {name: _imports(path, set(paths)) - {name} for name, path in paths.items()}


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, trail = stack.pop()
        for target in graph[node]:
            if target == start:
                return [*trail, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


def test_the_graph_sees_deferred_imports():
    """The reader finds an import inside a function (the kind that used to hide cycles)."""
    graph = _graph()
    assert "daybook.publishers" in graph["api.serve"]  # imported inside a function


def test_no_import_cycle_in_daybook_or_api():
    graph = _graph()
    cycles = [cycle for name in sorted(graph) if (cycle := _cycle_from(graph, name))]
    assert not cycles, f"import cycles: {cycles[:3]}"


def test_building_imports_neither_refresh_nor_serving():
    """The build package runs dbt and reports; publishing is daybook.pipeline's job."""
    graph = _graph()
    reached: set[str] = set()
    todo = [name for name in graph if name.split(".")[:2] == ["daybook", "build"]]
    while todo:
        for target in graph[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    assert not {
        name
        for name in reached
        if name.startswith(("daybook.serving", "daybook.pipeline", "daybook.publishers"))
        or name in ("daybook.refresh", "daybook.refresh_cli")
    }
