"""What the dbt project documents: model names and their columns, read from ``manifest.json``.

The semantic layer checks every model and column it names against this, so a
metric cannot point at a column that dbt does not build and document.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from daybook.config import project_dir
from daybook.semantic.errors import SemanticError

ENV_MANIFEST = "DAYBOOK_DBT_MANIFEST"


def default_manifest_path() -> Path | None:
    """The manifest to check definitions against, or ``None`` when dbt has not run.

    ``DAYBOOK_DBT_MANIFEST`` if set; else the manifest of the last ``daybook build``
    of the configured warehouse (``DAYBOOK_DATABASE_URL``); else a ``target/``
    in the project checkout.
    """
    override = os.environ.get(ENV_MANIFEST)
    if override:
        return Path(override)
    from daybook.config import ConfigError, warehouse_from_env
    from daybook.dbt_paths import manifest_path

    candidates = []
    with contextlib.suppress(ConfigError):
        candidates.append(manifest_path(warehouse_from_env()))
    for candidate in (
        *candidates,
        project_dir() / "target" / "manifest.json",
        project_dir() / "dbt_project" / "target" / "manifest.json",
    ):
        if candidate.is_file():
            return candidate
    return None


def documented_models(manifest_path: Path) -> dict[str, frozenset[str]]:
    """Model name -> its documented column names (lower-cased), from a dbt manifest."""
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SemanticError(f"{manifest_path}: dbt manifest not found") from None
    except (OSError, ValueError) as error:
        raise SemanticError(f"{manifest_path}: not a readable dbt manifest ({error})") from None
    nodes = manifest.get("nodes") if isinstance(manifest, dict) else None
    if not isinstance(nodes, dict):
        raise SemanticError(f"{manifest_path}: not a dbt manifest (no 'nodes')")
    models: dict[str, frozenset[str]] = {}
    for node in nodes.values():
        if not isinstance(node, dict) or node.get("resource_type") != "model":
            continue
        columns = node.get("columns") or {}
        names = {str(column.get("name", key)).lower() for key, column in columns.items()}
        name = str(node.get("alias") or node.get("name"))
        models[name] = frozenset(names)
    return models
