"""The registry in ``semantic/``: what it refuses across files, and what it derives.

Expected values are read from the YAML the test writes, not from the code under test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from daybook.semantic import SemanticError, load_catalog
from daybook.semantic.loader import load_registry
from semantic.marts import MART_COLUMNS, write_manifest

SHIPPED = Path(__file__).resolve().parents[2] / "semantic" / "entities.yml"


def _folder(tmp_path: Path, *texts: str) -> Path:
    folder = tmp_path / "semantic"
    folder.mkdir()
    for number, text in enumerate(texts):
        (folder / f"{number}.yml").write_text(textwrap.dedent(text))
    return folder


def _shipped_with(tmp_path: Path, replace: tuple[str, str] | None = None, extra: str = "") -> Path:
    text = SHIPPED.read_text()
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    return _folder(tmp_path, text, extra)


def test_the_shipped_registry_passes_the_marts_manifest(tmp_path: Path) -> None:
    """Every mart and column entities.yml names is a documented column of a dbt model."""
    manifest = write_manifest(tmp_path / "manifest.json")
    registry = load_registry(SHIPPED.parent, manifest_path=manifest)
    shipped = yaml.safe_load(SHIPPED.read_text())
    assert registry.require_tenant().model == shipped["tenant"]["model"]
    assert list(registry.entities) == [entity["name"] for entity in shipped["entities"]]
    assert set(registry.serving_tables()) == {
        shipped["tenant"]["model"],
        *(entity["model"] for entity in shipped["entities"]),
        *(entity["daily_model"] for entity in shipped["entities"] if "daily_model" in entity),
        *(mart["model"] for mart in shipped["marts"] if mart.get("served", True)),
    }


@pytest.mark.parametrize(
    ("replace", "extra", "message"),
    [
        (None, "tenant: {name: org, label: Org, model: dim_orgs, key: org_id}", "declared twice"),
        (("    tenant_key: client_id\n", "    tenant_key: org_id\n"), "", "is not the key"),
        (("  - name: activity\n", "  - name: activities\n"), "", "needs a shared mart"),
        (("    grain: [date_day]\n", "    grain: [date_day, day_of_week]\n"), "", "one key"),
    ],
    ids=["tenant-twice", "tenant-key", "daily-without-activity", "dimension-grain"],
)
def test_rules_across_the_tenant_entities_and_marts(
    tmp_path: Path, replace: tuple[str, str] | None, extra: str, message: str
) -> None:
    """Each rule fails by file and key; the shipped YAML itself passes them (test above)."""
    folder = _shipped_with(tmp_path, replace, extra)
    with pytest.raises(SemanticError, match=message) as error:
        load_catalog(folder, manifest_path=write_manifest(tmp_path / "m.json"))
    assert str(folder) in str(error.value)


def test_a_display_column_dbt_does_not_document_is_refused(tmp_path: Path) -> None:
    folder = _shipped_with(tmp_path, ("[display_name, email]", "[display_name, emial]"))
    with pytest.raises(SemanticError, match=r"display_columns: unknown column 'emial'.*'email'"):
        load_catalog(folder, manifest_path=write_manifest(tmp_path / "m.json"))


def test_a_tenant_typo_names_the_allowed_keys(tmp_path: Path) -> None:
    folder = _shipped_with(tmp_path, ("  model: dim_clients\n", "  modle: dim_clients\n"))
    with pytest.raises(SemanticError, match=r"tenant\.modle: unknown key 'modle'.*'model'"):
        load_catalog(folder, manifest_path=None)


CLIENT_ENTITY = """
entities:
  - name: client
    label: Client
    model: dim_clients
    key: client_id
    tenant_key: client_id
    daily_model: fct_client_activity_daily
"""


def test_an_entity_that_is_the_tenant_is_served_but_not_listed_under_a_tenant(
    tmp_path: Path,
) -> None:
    """An entity whose key is its tenant key (as the shipped `client`) is
    served and sorted by its key once, and is neither listed nor counted per day."""
    columns = {
        **MART_COLUMNS,
        "fct_client_activity_daily": ("client_id", "activity_date", "total_activity_count"),
    }
    folder = _shipped_with(tmp_path, extra=CLIENT_ENTITY.replace("name: client", "name: org"))
    registry = load_registry(folder, manifest_path=write_manifest(tmp_path / "m.json", columns))
    client = registry.entities["org"]
    marts = yaml.safe_load(SHIPPED.read_text())["marts"]
    day = next(mart["time_column"] for mart in marts if mart["name"] == "activity")
    assert registry.serving_tables()["fct_client_activity_daily"] == ("client_id", day)
    assert client.name not in {entity.name for entity in registry.listed_entities()}
    for entity in registry.entities.values():
        assert client not in registry.counted_entities(entity)
    user = registry.entities["user"]
    assert [other.name for other in registry.counted_entities(user)] == ["device"]
