"""The one reader of dbt's ``manifest.json`` and where a warehouse's artifacts live.

The manifest is written here from a plain dict, and each answer is computed again from
that dict by hand (the reader's answers are never the expectation).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from daybook.config import parse_database_url
from daybook.dbt_artifacts import DbtArtifacts, ManifestError, manifest_path, read_manifest
from daybook.semantic.errors import SemanticError
from daybook.semantic.manifest import dbt_manifest


def random_manifest(rng: random.Random) -> dict:
    nodes = {}
    for index in range(30):
        resource_type = rng.choice(["model", "model", "test", "seed"])
        name = f"node_{index}"
        materialized = rng.choice(["table", "view", "incremental"])
        key = rng.choice([None, "id", ["client_id", "day"], []])
        columns = {
            f"Col_{c}": {"name": f"Col_{c}"}
            | (
                {"data_type": rng.choice(["text", "bigint", "", None])}
                if rng.random() < 0.5
                else {}
            )
            for c in range(rng.randrange(0, 4))
        } | ({"keyed": {}} if rng.random() < 0.3 else {})
        node = {
            "resource_type": resource_type,
            "name": name,
            "columns": columns,
            "config": {"materialized": materialized}
            | ({"unique_key": key} if key is not None else {}),
        }
        if rng.random() < 0.3:
            node["alias"] = f"alias_{index}"
        nodes[f"{resource_type}.daybook.{name}"] = node
    return {"metadata": {}, "nodes": nodes}


@pytest.mark.parametrize("seed", range(5))
def test_models_columns_and_incremental_keys(tmp_path: Path, seed: int) -> None:
    data = random_manifest(random.Random(seed))
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    manifest = read_manifest(path)

    models = [node for node in data["nodes"].values() if node["resource_type"] == "model"]
    expected_columns = {}
    expected_types = {}
    expected_keys = {}
    for node in models:
        names = set()
        types = {}
        for key, column in node["columns"].items():
            names.add(column.get("name", key).lower())
            if column.get("data_type"):  # a column without a type (or an empty one) has none
                types[column.get("name", key).lower()] = column["data_type"]
        expected_columns[node.get("alias") or node["name"]] = frozenset(names)
        expected_types[node.get("alias") or node["name"]] = types
        key = node["config"].get("unique_key")
        if node["config"]["materialized"] == "incremental" and key:
            expected_keys[node["name"]] = [key] if isinstance(key, str) else key
    assert manifest.documented_columns() == expected_columns
    assert manifest.column_types() == expected_types
    assert dbt_manifest(path).documented_columns() == expected_columns
    assert manifest.incremental_keys() == expected_keys
    some = {node["name"] for node in models[::2]}
    assert manifest.incremental_keys(some) == {
        name: key for name, key in expected_keys.items() if name in some
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "dbt manifest not found"),
        ("{not json", "not a readable dbt manifest"),
        ('{"metadata": {}}', "not a dbt manifest (no 'nodes')"),
        ("[1, 2]", "not a dbt manifest (no 'nodes')"),
    ],
)
def test_unreadable_manifests_name_the_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ManifestError) as error:
        read_manifest(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    with pytest.raises(SemanticError, match="manifest"):
        dbt_manifest(path)


def test_each_warehouse_has_its_own_dbt_folder(tmp_path: Path) -> None:
    one = parse_database_url(f"duckdb://{tmp_path / 'a' / 'one.duckdb'}")
    two = parse_database_url(f"duckdb://{tmp_path / 'a' / 'two.duckdb'}")
    first, second = DbtArtifacts.of(one), DbtArtifacts.of(two)
    assert first.root != second.root
    assert first.root.is_relative_to(one.state_dir)
    for artifacts in (first, second):
        assert artifacts.manifest_path == artifacts.target_path / "manifest.json"
        assert artifacts.catalog_path == artifacts.target_path / "catalog.json"
        assert artifacts.target_path.parent == artifacts.log_path.parent == artifacts.root
    assert manifest_path(one) == first.manifest_path
