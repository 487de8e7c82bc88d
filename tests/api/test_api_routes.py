"""How the API declares its routes: from the semantic catalogue, with errors documented per
blueprint. No warehouse is needed: the app is built over a stand-in reader and token store,
and the expected values are read from the YAML directly."""

from __future__ import annotations

import shutil
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.activity_models import ActivityQuery
from api.app import create_app
from api.directory.models import TopQuery
from api.params import DateRangeQuery
from api.services import Services

REPO = Path(__file__).resolve().parents[2]
ERROR_STATUSES = ("400", "401", "403", "404", "429", "500")

TEAM_YAML = """
entities:
  - name: team
    label: Team
    description: A group of users at a client organisation.
    model: dim_teams
    key: team_id
    tenant_key: client_id
metrics:
  - name: team-activity
    label: Team Activity
    description: Sum of activity events of the team's members.
    model: fct_team_activity_daily
    time_column: activity_date
    aggregation: sum
    expression: total_activity_count
    entities: [team]
"""


class _Reader:
    """Answers nothing: these tests only look at routes and the OpenAPI document."""

    dialect = "duckdb"

    def fetch_all(self, sql: str, parameters: Any) -> list[tuple]:
        return []

    def data_version(self) -> Hashable | None:
        return None

    def close(self) -> None:
        pass


class _Tokens:
    def authenticate(self, credentials: str) -> None:
        return None  # every token is unknown: 401


def _app(semantic_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import daybook.semantic.loader as loader

    # The added entity's marts are not in the dbt project: skip the manifest check only.
    monkeypatch.setattr(loader, "default_manifest_path", lambda: None)
    catalog = loader.load_catalog(semantic_dir=semantic_dir)
    return create_app(
        {
            "warehouse": f"duckdb:///{tmp_path / 'unused.duckdb'}",
            "catalog": catalog,
            "reader": _Reader(),
            "token_store": _Tokens(),
            "http_caching": False,
        }
    )


def _yaml_metrics(semantic_dir: Path) -> dict[str, list[str]]:
    """Metric names per entity, in file and YAML order, read straight from the YAML."""
    by_entity: dict[str, list[str]] = {}
    for path in sorted([*semantic_dir.rglob("*.yml"), *semantic_dir.rglob("*.yaml")]):
        for metric in (yaml.safe_load(path.read_text()) or {}).get("metrics", []):
            for entity in metric["entities"]:
                by_entity.setdefault(entity, []).append(metric["name"])
    return by_entity


def test_an_entity_added_as_yaml_gets_its_activity_endpoint(tmp_path, monkeypatch):
    """A new entity and metric in YAML alone: the app serves a route for it (authenticated,
    so 401 without a token) and documents it with its own metric enum, the others unchanged."""
    semantic_dir = tmp_path / "semantic"
    shutil.copytree(REPO / "semantic", semantic_dir)
    (semantic_dir / "team.yml").write_text(TEAM_YAML)
    app = _app(semantic_dir, tmp_path, monkeypatch)
    client = app.test_client()
    team_path = (
        "/v2/clients/{client_id}/analytics/teams/{team_id}/activity",
        "/v2/clients/3f1c2a4e-0000-4000-8000-000000000001/analytics/teams/"
        "3f1c2a4e-0000-4000-8000-000000000002/activity",
    )

    answer = client.get(team_path[1], query_string={"metric": "team-activity"})
    assert answer.status_code == 401, answer.text
    assert answer.get_json()["error"]["code"] == "authentication_required"

    document = client.get("/v2/openapi.json").get_json()
    expected = _yaml_metrics(semantic_dir)
    assert expected["team"] == ["team-activity"]
    for entity in ("user", "device", "team"):
        operation = document["paths"][
            f"/v2/clients/{{client_id}}/analytics/{entity}s/{{{entity}_id}}/activity"
        ]["get"]
        (metric,) = [p for p in operation["parameters"] if p["name"] == "metric"]
        assert metric["schema"]["enum"] == expected[entity], entity
        assert operation["operationId"] == f"get{entity.title()}Activity"
    assert team_path[0] in document["paths"]


def test_every_authenticated_operation_documents_success_first_then_the_error_shape(
    tmp_path, monkeypatch
):
    """Errors are declared once per blueprint; every data operation still lists its 200
    answer first, then each error status with the contract's error body."""
    app = _app(REPO / "semantic", tmp_path, monkeypatch)
    document = app.test_client().get("/v2/openapi.json").get_json()
    operations = [path["get"] for path in document["paths"].values()]
    assert len(operations) == 8  # 2 activity, clients, metrics, users, devices, 2 rankings
    for operation in operations:
        responses = operation["responses"]
        assert list(responses) == ["200", *ERROR_STATUSES], operation["operationId"]
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"]
        for status in ERROR_STATUSES:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


def test_one_date_range_rule_and_typed_services(tmp_path, monkeypatch):
    """Both range-taking queries use the one shared rule, and the services are typed."""
    assert issubclass(ActivityQuery, DateRangeQuery)
    assert issubclass(TopQuery, DateRangeQuery)
    app = _app(REPO / "semantic", tmp_path, monkeypatch)
    services = app.extensions["daybook"]
    assert isinstance(services, Services)
    assert all(field.type not in ("Any", Any) for field in Services.__dataclass_fields__.values())
