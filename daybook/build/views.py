"""Whether a warehouse's dbt views are still as the project defines them.

A view holds no data, so re-creating one changes nothing unless its SQL changed. dbt
re-creates every view on every run all the same (create under a temporary name, swap,
drop: about 0.1 s a view on DuckDB, more through Spark's metastore), and the staging
views stand first on a refresh's critical path: at 25M heartbeats the eight views were
0.85 s of a 5.8 s refresh (median of two warm cycles each way, one kept bench warehouse).

So a dbt run that ran every model records a fingerprint of what defines the views: the
project's dbt sources (models, macros, semantic YAML, ``dbt_project.yml``, the
profiles) and the installed dbt packages' versions. A refresh whose fingerprint is the
recorded one runs the tables and incremental models alone; any edit, another dbt, or
no record runs every model, as before, and records anew. The record lives in the
warehouse's own state folder, beside the refresh state.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse, project_dir

PROJECT_SOURCES = ("dbt_project.yml", "models", "semantic", "dbt_project")
DBT_PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-postgres", "dbt-spark")
# dbt's selector for every view model: what a refresh with current views leaves out
VIEW_MODELS = "config.materialized:view"


def project_fingerprint() -> str:
    """A hash of every file that can change a view's SQL, and of dbt's versions."""
    digest = hashlib.sha256()
    root = project_dir()
    for source in PROJECT_SOURCES:
        path = root / source
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(str(file.relative_to(root)).encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    for package in DBT_PACKAGES:
        try:
            digest.update(f"{package}=={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent\0".encode())
    return digest.hexdigest()


def _record_path(warehouse: Warehouse) -> Path:
    return warehouse.state_dir / "views.json"


def views_current(warehouse: Warehouse, fingerprint: str) -> bool:
    """Whether the last run of every model in ``warehouse`` had this ``fingerprint``."""
    try:
        recorded = json.loads(_record_path(warehouse).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    return recorded.get("fingerprint") == fingerprint


def record_views(warehouse: Warehouse, fingerprint: str | None) -> None:
    """Record that every view was just created from ``fingerprint``'s project; ``None``
    forgets the record (the next run re-creates the views)."""
    path = _record_path(warehouse)
    if fingerprint is None:
        path.unlink(missing_ok=True)
        return
    write_json_atomically(path, {"fingerprint": fingerprint})
