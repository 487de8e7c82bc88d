"""How the API declares its routes: from the semantic catalogue, with errors documented per
blueprint. The app is built over a stand-in token store and either a reader that answers
nothing or a small in-memory DuckDB made from the YAML; expected values are read from the
YAML directly and computed in plain Python.

Over 300 lines because the stand-ins (reader, token store, the YAML-made warehouse) are
shared by every test here; they move to a fixture module when the API tests get their
tiers (issue 13 section 5)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Hashable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from api.activity_models import ActivityQuery
from api.app import create_app
from api.directory.models import TopQuery
from api.params import DateRangeQuery
from api.services import Services
from daybook.tokens import TokenRecord

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
    daily_model: fct_team_activity_daily
    display_columns: [team_name]
semantic_models:
  - name: team_days
    model: ref('fct_team_activity_daily')
    primary_entity: team_day
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: client, type: foreign, expr: client_id}
      - {name: team, type: foreign, expr: team_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: team_activity_events, agg: sum, expr: total_activity_count}
metrics:
  - name: team_activity
    label: Team Activity
    description: Sum of activity events of the team's members.
    type: simple
    type_params: {measure: team_activity_events}
"""
# The team's dense daily mart as a dbt model (dbt parses the semantic folder as models):
# dbt only needs it to exist; these tests read the warehouse _team_warehouse makes.
TEAM_MODEL_SQL = (
    "select cast(null as varchar) as client_id, cast(null as varchar) as team_id, "
    "cast(null as date) as activity_date, 0 as total_activity_count\n"
)


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
    def authenticate(self, credentials: str) -> TokenRecord | None:
        """``TOKEN`` may read every client; any other token is unknown (401)."""
        if credentials != TOKEN:
            return None
        return TokenRecord("t", "test", True, (), "2026-01-01T00:00:00+00:00", None)


TOKEN = "dbk_000000000000_test"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class _DuckReader:
    """The API's reader over an in-memory DuckDB (one fixed data version)."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def fetch_all(self, sql: str, parameters: Any) -> list[tuple]:
        return self.con.cursor().execute(sql, parameters).fetchall()

    def data_version(self) -> Hashable | None:
        return "v1"

    def close(self) -> None:
        self.con.close()


def _app(
    semantic_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: Any = None
) -> Any:
    import daybook.semantic.loader as loader

    # The added entity's marts are not documented dbt models: skip the column checks only.
    monkeypatch.setattr(loader, "default_manifest_path", lambda: None)
    catalog = loader.load_catalog(semantic_dir=semantic_dir, check_manifest=False)
    return create_app(
        {
            "warehouse": f"duckdb:///{tmp_path / 'unused.duckdb'}",
            "catalog": catalog,
            "reader": reader or _Reader(),
            "token_store": _Tokens(),
            "http_caching": False,
        }
    )


def yaml_measures(metric: dict, metrics: dict[str, dict]) -> list[str]:
    """The measures a dbt metric reads, from its YAML: its own (simple, cumulative) or
    those of the metrics it is made of (ratio, derived), recursively."""
    params = metric.get("type_params") or {}
    if params.get("measure"):
        measure = params["measure"]
        return [measure["name"] if isinstance(measure, dict) else measure]
    refs = [params.get("numerator"), params.get("denominator"), *(params.get("metrics") or [])]
    names = [ref["name"] if isinstance(ref, dict) else ref for ref in refs if ref]
    return [found for name in names for found in yaml_measures(metrics[name], metrics)]


def _yaml_metrics(semantic_dir: Path) -> dict[str, list[str]]:
    """API metric names per entity, in file and YAML order, read straight from the YAML:
    a metric is served for each entity of its measure's semantic model."""
    files = sorted([*semantic_dir.rglob("*.yml"), *semantic_dir.rglob("*.yaml")])
    documents = [yaml.safe_load(path.read_text()) or {} for path in files]
    served = {e["name"] for d in documents for e in d.get("entities", [])}
    measure_entities = {
        measure["name"]: [e["name"] for e in model["entities"] if e["name"] in served]
        for document in documents
        for model in document.get("semantic_models", [])
        for measure in model.get("measures", [])
    }
    metrics = {m["name"]: m for document in documents for m in document.get("metrics", [])}
    by_entity: dict[str, list[str]] = {}
    for name, metric in metrics.items():
        read = [measure_entities[m] for m in yaml_measures(metric, metrics)]
        for entity in [e for e in read[0] if all(e in entities for entities in read)]:
            by_entity.setdefault(entity, []).append(name.replace("_", "-"))
    return by_entity


def test_an_entity_added_as_yaml_gets_its_activity_endpoint(tmp_path, monkeypatch):
    """A new entity and metric in YAML alone: the app serves a route for it (authenticated,
    so 401 without a token) and documents it with its own metric enum, the others unchanged."""
    semantic_dir = _semantic_with_team(tmp_path)
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
    # Listed under its client like users and devices; not ranked, as the activity fact
    # (the rankings' source) has no team_id.
    assert "/v2/clients/{client_id}/teams" in document["paths"]
    assert "/v2/clients/{client_id}/analytics/top-teams" not in document["paths"]
    assert client.get("/v2/clients/3f1c2a4e-0000-4000-8000-000000000001/teams").status_code == 401


CLIENTS = ["3f1c2a4e-0000-4000-8000-00000000000" + str(i) for i in (1, 2)]
TEAMS = {  # team id -> (client id, name)
    "3f1c2a4e-0000-4000-8000-0000000000a1": (CLIENTS[0], "Blue"),
    "3f1c2a4e-0000-4000-8000-0000000000a2": (CLIENTS[0], "amber"),
    "3f1c2a4e-0000-4000-8000-0000000000a3": (CLIENTS[0], "Crimson"),
    "3f1c2a4e-0000-4000-8000-0000000000b1": (CLIENTS[1], "Blue"),
}
FIRST_DAY = date(2026, 1, 5)
# (client, team, day, activity): three days for most teams, none for the last one
TEAM_DAYS = [
    (client, team, FIRST_DAY + timedelta(days=day), 7 * index + day + 1)
    for index, (team, (client, _)) in enumerate(list(TEAMS.items())[:3])
    for day in (0, 1, 3)
]


def _registry_yaml(semantic_dir: Path) -> dict[str, Any]:
    """Tenant, entities and shared marts as written in the YAML (not the code under test)."""
    found: dict[str, Any] = {"entities": {}, "marts": {}}
    for path in sorted(semantic_dir.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        found["tenant"] = data.get("tenant", found.get("tenant"))
        found["entities"].update({entity["name"]: entity for entity in data.get("entities", [])})
        found["marts"].update({mart["name"]: mart for mart in data.get("marts", [])})
    return found


def _team_warehouse(semantic_dir: Path) -> duckdb.DuckDBPyConnection:
    """Every mart the API reads, named as the YAML names them, with the teams' rows."""
    registry = _registry_yaml(semantic_dir)
    tenant, entities = registry["tenant"], registry["entities"]
    activity = registry["marts"]["activity"]["model"]
    con = duckdb.connect()
    con.execute(
        f"create table {tenant['model']} ({tenant['key']} varchar, client_name varchar, "
        "timezone varchar)"
    )
    for number, client in enumerate(CLIENTS):
        con.execute(f"insert into {tenant['model']} values (?, ?, 'UTC')", [client, f"C{number}"])
    con.execute(
        f"create table {activity} (client_id varchar, user_id varchar, device_id varchar, "
        "activity_date date, total_activity_count bigint)"
    )
    for entity in entities.values():
        if entity["model"] == tenant["model"]:  # the client-wide entity: the tenant itself
            continue
        shown = "".join(f", {column} varchar" for column in entity.get("display_columns", []))
        con.execute(
            f"create table {entity['model']} ({entity['tenant_key']} varchar, "
            f"{entity['key']} varchar{shown})"
        )
    team = entities["team"]
    for team_id, (client, name) in TEAMS.items():
        con.execute(f"insert into {team['model']} values (?, ?, ?)", [client, team_id, name])
    con.execute(
        f"create table {team['daily_model']} (client_id varchar, team_id varchar, "
        "activity_date date, total_activity_count bigint)"
    )
    con.executemany(f"insert into {team['daily_model']} values (?, ?, ?, ?)", TEAM_DAYS)
    return con


def _semantic_with_team(tmp_path: Path, rename: dict[str, str] | None = None) -> Path:
    """A copy of semantic/ with the team entity added and any ``old: new`` model renamed."""
    semantic_dir = tmp_path / "semantic"
    shutil.copytree(REPO / "semantic", semantic_dir)
    (semantic_dir / "team.yml").write_text(TEAM_YAML)
    daily = (rename or {}).get("fct_team_activity_daily", "fct_team_activity_daily")
    (semantic_dir / f"{daily}.sql").write_text(TEAM_MODEL_SQL)
    for path in semantic_dir.rglob("*.yml"):
        text = path.read_text()
        for old, new in (rename or {}).items():
            text = text.replace(f"model: {old}\n", f"model: {new}\n")
            if old == "fct_team_activity_daily":  # a dbt model of this test (TEAM_MODEL_SQL)
                text = text.replace(f"ref('{old}')", f"ref('{new}')")
        path.write_text(text)
    return semantic_dir


SHIPPED = yaml.safe_load((REPO / "semantic" / "entities.yml").read_text())
RENAMES = {
    "as-shipped": {},
    "tenant-mart-renamed": {SHIPPED["tenant"]["model"]: "dim_organisations"},
    "activity-mart-renamed": {
        next(m["model"] for m in SHIPPED["marts"] if m["name"] == "activity"): "fct_day_activity"
    },
    "team-marts-renamed": {"dim_teams": "dim_squads", "fct_team_activity_daily": "fct_squad_days"},
}


@pytest.mark.parametrize("renames", list(RENAMES.values()), ids=list(RENAMES))
def test_an_entity_added_as_yaml_is_listed_checked_and_served(tmp_path, monkeypatch, renames):
    """The team entity of the YAML: its directory page, its 404s and its series come from
    the marts the YAML names, on a warehouse holding them. A mart renamed in the YAML is
    read under its new name (the YAML edit and the table's rename, nothing else)."""
    semantic_dir = _semantic_with_team(tmp_path, renames)
    texts = [path.read_text() for path in semantic_dir.rglob("*.yml")]
    for old, new in renames.items():
        assert not any(f"model: {old}\n" in text for text in texts)
        assert any(f"model: {new}\n" in text for text in texts)
    app = _app(semantic_dir, tmp_path, monkeypatch, _DuckReader(_team_warehouse(semantic_dir)))
    client = app.test_client()

    listed = client.get("/v2/clients", headers=AUTH).get_json()["data"]
    assert [row["client_id"] for row in listed] == CLIENTS
    assert [row["name"] for row in listed] == ["C0", "C1"]
    for client_id in CLIENTS:
        page = client.get(f"/v2/clients/{client_id}/teams", headers=AUTH)
        assert page.status_code == 200, page.text
        expected = sorted(
            (
                {"team_id": team, "team_name": name}
                for team, (owner, name) in TEAMS.items()
                if owner == client_id
            ),
            key=lambda row: (row["team_name"].lower(), row["team_id"]),
        )
        assert page.get_json()["data"] == expected
        assert page.get_json()["total"] == len(expected)
    found = client.get(f"/v2/clients/{CLIENTS[0]}/teams?search=BLU", headers=AUTH).get_json()
    assert [row["team_name"] for row in found["data"]] == ["Blue"]

    other_clients_team = next(team for team, (owner, _) in TEAMS.items() if owner == CLIENTS[1])
    unknown_client = "3f1c2a4e-0000-4000-8000-0000000000ff"
    query = {"metric": "team-activity", "start_date": "2026-01-04", "end_date": "2026-01-10"}
    base = f"/v2/clients/{CLIENTS[0]}/analytics/teams"
    missing = client.get(f"{base}/{other_clients_team}/activity", query_string=query, headers=AUTH)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["details"] == {"team_id": other_clients_team}
    nobody = client.get(
        f"/v2/clients/{unknown_client}/analytics/teams/{other_clients_team}/activity",
        query_string=query,
        headers=AUTH,
    )
    assert nobody.status_code == 404
    assert nobody.get_json()["error"]["details"] == {"client_id": unknown_client}

    for team, (owner, _) in TEAMS.items():
        if owner != CLIENTS[0]:
            continue
        totals: dict[date, int] = defaultdict(int)
        for _, team_id, day, activity in TEAM_DAYS:
            if team_id == team:
                totals[day] += activity
        start = date.fromisoformat(query["start_date"])
        expected_series = [
            {
                "date": (start + timedelta(days=i)).isoformat(),
                "value": totals[start + timedelta(days=i)],
            }
            for i in range(7)
        ]
        series = client.get(f"{base}/{team}/activity", query_string=query, headers=AUTH)
        assert series.status_code == 200, series.text
        assert series.get_json()["data"] == expected_series


def test_every_authenticated_operation_documents_success_first_then_the_error_shape(
    tmp_path, monkeypatch
):
    """Errors are declared once per blueprint; every data operation still lists its 200
    answer first, then each error status with the contract's error body."""
    app = _app(REPO / "semantic", tmp_path, monkeypatch)
    document = app.test_client().get("/v2/openapi.json").get_json()
    operations = [path["get"] for path in document["paths"].values()]
    assert len(operations) == 9  # 3 activity, clients, metrics, users, devices, 2 rankings
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
