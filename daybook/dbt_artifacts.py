"""A warehouse's dbt artifacts: where dbt writes them, and the one reader of ``manifest.json``.

Each warehouse gets its own dbt folder under ``warehouse.state_dir`` (``target/`` with
``manifest.json`` and ``catalog.json``, and ``logs/``), so builds of different warehouses
(tests run several at once) never share ``target/``. :class:`DbtArtifacts` is that
folder; :class:`Manifest` is what the build's manifest says about its models, parsed
here and nowhere else: the semantic layer checks names against its documented columns,
the DuckDB snapshot publisher reads its incremental models' unique keys.

This module imports only :mod:`daybook.config`, so the build, the serving layer and the
semantic layer can all read it without importing one another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daybook.config import Warehouse

__all__ = [
    "DbtArtifacts",
    "Manifest",
    "ManifestError",
    "ManifestModel",
    "manifest_path",
    "read_manifest",
]


@dataclass(frozen=True)
class DbtArtifacts:
    """One warehouse's dbt folder and the artifacts a dbt invocation leaves in it."""

    root: Path

    @classmethod
    def of(cls, warehouse: Warehouse) -> DbtArtifacts:
        """This warehouse's private dbt folder (``<state_dir>/dbt``)."""
        return cls(warehouse.state_dir / "dbt")

    @property
    def target_path(self) -> Path:
        """dbt's ``--target-path``: compiled SQL, manifest, run results, docs catalog."""
        return self.root / "target"

    @property
    def log_path(self) -> Path:
        """dbt's ``--log-path``."""
        return self.root / "logs"

    @property
    def manifest_path(self) -> Path:
        """The ``manifest.json`` of this warehouse's last dbt invocation."""
        return self.target_path / "manifest.json"

    @property
    def semantic_manifest_path(self) -> Path:
        """The ``semantic_manifest.json`` (dbt's semantic models and metrics) of the last
        invocation: what the semantic layer serves (``daybook.semantic.dbt_parse``)."""
        return self.target_path / "semantic_manifest.json"

    @property
    def catalog_path(self) -> Path:
        """The ``catalog.json`` ``dbt docs generate`` writes."""
        return self.target_path / "catalog.json"

    def manifest(self) -> Manifest:
        """The last invocation's manifest; :class:`ManifestError` when missing or unreadable."""
        return read_manifest(self.manifest_path)


def manifest_path(warehouse: Warehouse) -> Path:
    """Shorthand for ``DbtArtifacts.of(warehouse).manifest_path``."""
    return DbtArtifacts.of(warehouse).manifest_path


class ManifestError(ValueError):
    """A dbt manifest is missing, unreadable or not a manifest; the message names the file."""


@dataclass(frozen=True)
class ManifestModel:
    """What the manifest says about one model."""

    name: str
    relation: str  # the table or view it builds: the model's alias, else its name
    columns: frozenset[str]  # documented column names, lower-cased
    # documented column -> its contract ``data_type`` as written (columns that give one)
    column_types: Mapping[str, str] = field(default_factory=dict)
    materialized: str | None = None
    unique_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """The models of a dbt manifest, in the manifest's order."""

    path: Path
    models: tuple[ManifestModel, ...] = ()

    def documented_columns(self) -> dict[str, frozenset[str]]:
        """Relation name -> its documented column names (what the semantic layer may name)."""
        return {model.relation: model.columns for model in self.models}

    def column_types(self) -> dict[str, Mapping[str, str]]:
        """Relation name -> {column: data_type} of the columns whose type is documented
        (the marts' model contracts): what the semantic layer type-checks metrics with."""
        return {model.relation: model.column_types for model in self.models}

    def incremental_keys(self, names: Any = None) -> dict[str, list[str]]:
        """Model name -> ``unique_key`` columns of each incremental model that has one
        (only models in ``names`` when given)."""
        return {
            model.name: list(model.unique_key)
            for model in self.models
            if model.materialized == "incremental"
            and model.unique_key
            and (names is None or model.name in names)
        }


def read_manifest(path: Path) -> Manifest:
    """Parse the models out of a dbt ``manifest.json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: dbt manifest not found") from None
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: not a readable dbt manifest ({error})") from None
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict):
        raise ManifestError(f"{path}: not a dbt manifest (no 'nodes')")
    models = tuple(
        _model(node)
        for node in nodes.values()
        if isinstance(node, dict) and node.get("resource_type") == "model"
    )
    return Manifest(path=Path(path), models=models)


def _model(node: dict[str, Any]) -> ManifestModel:
    columns = node.get("columns") or {}
    config = node.get("config") or {}
    unique_key = config.get("unique_key") or ()
    name = str(node.get("name"))
    names = {key: str(column.get("name", key)).lower() for key, column in columns.items()}
    return ManifestModel(
        name=name,
        relation=str(node.get("alias") or name),
        columns=frozenset(names.values()),
        column_types={
            names[key]: column["data_type"]
            for key, column in columns.items()
            if isinstance(column.get("data_type"), str) and column["data_type"].strip()
        },
        materialized=config.get("materialized"),
        unique_key=(unique_key,) if isinstance(unique_key, str) else tuple(unique_key),
    )
