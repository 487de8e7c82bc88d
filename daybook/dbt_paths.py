"""Where dbt writes for a warehouse (its target/ with manifest.json, and logs/).

A module of its own so that readers of the manifest (the serving snapshots, the
semantic layer) need not import :mod:`daybook.build`, which imports them.
"""

from __future__ import annotations

from pathlib import Path

from daybook.config import Warehouse

__all__ = ["dbt_dir", "manifest_path", "target_path"]


def dbt_dir(warehouse: Warehouse) -> Path:
    """This warehouse's private dbt folder (target/ and logs/)."""
    return warehouse.state_dir / "dbt"


def target_path(warehouse: Warehouse) -> Path:
    return dbt_dir(warehouse) / "target"


def manifest_path(warehouse: Warehouse) -> Path:
    """The ``manifest.json`` of this warehouse's last dbt run (read by the semantic layer)."""
    return target_path(warehouse) / "manifest.json"
