"""Issue 16's "Done when", end to end: a data team writes a NEW ratio, cumulative and derived
metric in dbt's semantic-layer spec, and dbt, the API, OpenAPI, the CLI and the page's
metric list serve them for users, devices and the whole client, on DuckDB and PostgreSQL.

The new YAML (``NEW_METRICS``) goes into a copy of the shipped ``semantic/`` and uses only
the shipped semantic models and measures:

- a ratio with a metric-level ``filter:`` and a numerator ``filter:`` on a device's
  ``platform`` (a dimension one entity hop from the activity fact);
- a cumulative over distinct users, trailing ``window: 7 days``, averaged over a bucket's
  days (``period_agg: average``);
- a derived metric with ``offset_window: 1 week`` (this week's devices against last week's).

Expected answers are computed twice, independently of Daybook's compiler: by
``tests/reference_metrics.py`` reading the same YAML as plain YAML, and by hand
(``team_metrics.by_hand``: loops over the sample's reference rows, the rules written out
for these three metrics). Ranges start before the sample's first day (offsets and windows
reach days without data: nulls and zero denominators) and inside it (they reach days
before ``start_date`` that have data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from reference import GRANULARITIES
from reference_metrics import MetricReference
from semantic.metric_types import DEVICES, FACT, same_value
from served_api import DATA_END, DATA_START, EXAMPLE_CLIENT, activity_path, assert_error
from team_metrics import (
    DERIVED,
    LABELS,
    NEW_FILE,
    NEW_METRICS,
    RATIO,
    SERVED_ON,
    by_hand,
    write_team_dir,
)

from daybook.cli import main
from daybook.semantic import SemanticError, load_catalog
from daybook.warehouse import connection

ENTITIES = ("user", "device", "client")
# Before the data (offsets and windows read empty days), inside it from a Saturday (a
# partial first week; windows and offsets read data before start_date), across its end.
RANGES = (
    (DATA_START - timedelta(days=10), DATA_START + timedelta(days=40)),
    (DATA_START + timedelta(days=59), DATA_START + timedelta(days=104)),
    (DATA_END - timedelta(days=20), DATA_END + timedelta(days=12)),
)


@pytest.fixture(scope="module")
def team_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped ``semantic/`` plus the team's new YAML file."""
    return write_team_dir(tmp_path_factory.mktemp("team") / "semantic")


@pytest.fixture(scope="module")
def team_apps(apps: dict, team_dir: Path) -> Iterator[dict]:
    """Per backend (lazily), an app serving the team's folder over the session's sample
    warehouse (``apps``' warehouse, as ``make_client`` builds them), made once per module."""
    from api.app import create_app

    made: dict = {}

    class Lazy(dict):
        def __missing__(self, backend: str):
            made[backend] = self[backend] = create_app(
                {"warehouse": apps[backend].warehouse, "semantic_dir": team_dir}
            )
            return made[backend]

    yield Lazy()
    for app in made.values():
        app.extensions["daybook"].reader.close()


@pytest.fixture
def team_client(api, team_apps: dict):
    """A Flask test client of the app serving the team's folder, on ``api``'s backend."""
    return team_apps[api.backend].test_client()


def _yaml_spec(folder: Path) -> dict:
    """Every ``semantic_models:`` and ``metrics:`` under ``folder``, as plain YAML."""
    spec: dict = {"semantic_models": [], "metrics": []}
    for path in sorted(folder.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in spec:
            spec[key] += data.get(key) or []
    return spec


_REFERENCES: dict[int, MetricReference] = {}


def yaml_reference(api, folder: Path) -> MetricReference:
    """``reference_metrics`` over the folder's YAML and the sample's reference rows."""
    key = id(api.reference)
    if key not in _REFERENCES:
        fact = [
            {"client_id": c, "activity_date": d, "user_id": u, "device_id": v, **values}
            for (c, d, u, v), values in api.reference.activity.items()
        ]
        devices = [
            {k: row[k] for k in ("device_id", "client_id", "platform")} for row in api.devices
        ]
        _REFERENCES[key] = MetricReference(_yaml_spec(folder), {FACT: fact, DEVICES: devices})
    return _REFERENCES[key]


def chosen_ids(api) -> dict[str, list[tuple[str, str]]]:
    """(client, id) to ask about per entity: the example client and the busiest other one,
    the two busiest users, the busiest device of each platform (the ratio's filters)."""
    weight: dict[tuple[str, str], int] = {}
    for entity, position in (("client", 0), ("user", 2), ("device", 3)):
        for key, values in api.reference.activity.items():
            pair = (entity, key[0], key[position])
            weight[pair] = weight.get(pair, 0) + values["total_activity_count"]

    def busiest(entity: str) -> list[tuple[str, str]]:
        pairs = [(c, i) for (e, c, i) in weight if e == entity]
        return sorted(pairs, key=lambda p: (-weight[(entity, *p)], p))

    platform = {row["device_id"]: row["platform"] for row in api.devices}
    devices: dict[str, tuple[str, str]] = {}
    for pair in busiest("device"):
        devices.setdefault(platform[pair[1]], pair)
    other = next(pair for pair in busiest("client") if pair[0] != EXAMPLE_CLIENT)
    return {
        "client": [(EXAMPLE_CLIENT, EXAMPLE_CLIENT), other],
        "user": busiest("user")[:2],
        "device": [devices[p] for p in ("macos", "windows", "linux") if p in devices],
    }


def test_dbt_accepts_the_new_metrics_and_the_catalogue_serves_them_where_their_models_are(
    team_dir: Path,
) -> None:
    """``load_catalog`` of the folder runs ``dbt parse`` of the project with it as
    ``semantic/`` (``daybook.semantic.dbt_parse``); the new metrics join the shipped ones,
    with their dbt labels, on exactly their semantic models' entities."""
    catalog = load_catalog(team_dir)
    shipped = load_catalog()
    assert list(catalog.metrics) == [*shipped.metrics, *LABELS]
    for name, label in LABELS.items():
        assert catalog.metrics[name].label == label
        assert catalog.metrics[name].entities == SERVED_ON[name]
    for entity in ENTITIES:
        expected = [name for name in LABELS if entity in SERVED_ON[name]]
        assert [m.name for m in catalog.metrics_for(entity)] == [
            *(m.name for m in shipped.metrics_for(entity)),
            *expected,
        ]


def test_a_misspelt_filter_dimension_is_refused_with_file_metric_and_nearest_name(
    tmp_path: Path,
) -> None:
    """dbt parses a misspelt dimension inside ``filter:`` without complaint; Daybook refuses
    it at load (the API and CLI would not start) naming the file, metric and valid name."""
    misspelt = NEW_METRICS.replace(
        "device__platform') }} = 'macos'", "device__platfrom') }} = 'macos'"
    )
    assert misspelt != NEW_METRICS
    folder = write_team_dir(tmp_path / "semantic", misspelt)
    with pytest.raises(SemanticError) as refused:
        load_catalog(folder)
    message = str(refused.value)
    assert str(folder / NEW_FILE) in message, message
    assert "macos_activity_share" in message, message
    assert "'device__platfrom' (did you mean 'device__platform'?)" in message, message

    result = CliRunner(env={"DAYBOOK_SEMANTIC_DIR": str(folder)}).invoke(main, ["metrics"])
    assert result.exit_code == 1
    assert "did you mean 'device__platform'?" in result.output
    assert "Traceback" not in result.output


def test_each_new_metric_is_served_on_its_endpoints_equal_to_the_reference(
    api, team_client, team_dir: Path
) -> None:
    """Every new metric, on every endpoint it is served on, for several users, devices and
    clients, every granularity and the three ranges: the API's answer equals both
    independent computations, with the YAML's label; ratio, derived and average values
    are JSON numbers or null."""
    reference = yaml_reference(api, team_dir)
    headers = {"Authorization": f"Bearer {api.token()}"}
    ids = chosen_ids(api)
    seen = {metric: {"number": 0, "null": 0} for metric in LABELS}
    checked = 0
    for metric, entities in SERVED_ON.items():
        for entity in entities:
            for client, entity_id in ids[entity]:
                for (start, end), granularity in (
                    (span, g) for span in RANGES for g in GRANULARITIES
                ):
                    params = {
                        "metric": metric,
                        "start_date": start.isoformat(),
                        "end_date": end.isoformat(),
                        "granularity": granularity,
                    }
                    response = team_client.get(
                        activity_path(client, entity, entity_id),
                        query_string=params,
                        headers=headers,
                    )
                    where = (metric, entity, client, entity_id, granularity, start, end)
                    assert response.status_code == 200, (where, response.get_data(as_text=True))
                    body = response.get_json()
                    assert body["metric"] == metric and body["label"] == LABELS[metric]
                    assert body["period"] == {"start": start.isoformat(), "end": end.isoformat()}
                    got = [(date.fromisoformat(p["date"]), p["value"]) for p in body["data"]]
                    hand = by_hand(api, metric, entity, client, entity_id, start, end, granularity)
                    from_yaml = reference.series(
                        metric=metric.replace("-", "_"),
                        entity=entity,
                        tenant_id=client,
                        entity_id=None if entity == "client" else entity_id,
                        start=start,
                        end=end,
                        granularity=granularity,
                    )
                    for expected in (hand, from_yaml):
                        assert [b for b, _ in got] == [b for b, _ in expected], where
                        wrong = [
                            (b, g, e)
                            for (b, g), (_, e) in zip(got, expected, strict=True)
                            if not same_value(g, float(e) if e is not None else None)
                        ]
                        assert not wrong, (where, wrong)
                    for _, value in got:
                        if value is None:
                            seen[metric]["null"] += 1
                        elif value != 0:
                            seen[metric]["number"] += 1
                    checked += 1
    assert checked == sum(len(ids[e]) for es in SERVED_ON.values() for e in es) * 3 * 4
    # every metric had values; the ratio and the derived one had buckets without any
    assert all(counts["number"] > 20 for counts in seen.values()), seen
    assert seen[RATIO]["null"] and seen[DERIVED]["null"], seen


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_endpoint_whose_entity_the_model_lacks_refuses_the_metric(
    api, team_client, entity: str
) -> None:
    client, entity_id = chosen_ids(api)[entity][0]
    for metric, entities in SERVED_ON.items():
        if entity in entities:
            continue
        response = team_client.get(
            activity_path(client, entity, entity_id),
            query_string={"metric": metric, "start_date": "2025-11-01", "end_date": "2025-11-30"},
            headers={"Authorization": f"Bearer {api.token()}"},
        )
        error = assert_error(_Answer(response), 400, "invalid_parameter")
        assert error["message"].startswith(f"Unknown metric: {metric}. Valid values: ")


class _Answer:
    """A Flask test response with the ``requests`` names ``assert_error`` reads."""

    def __init__(self, response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.get_data(as_text=True)
        self._json = response.get_json()

    def json(self):
        return self._json


def _operation(document: dict, entity: str) -> dict:
    path = activity_path("{client_id}", entity, f"{{{entity}_id}}")
    return document["paths"][path]["get"]


def test_openapi_and_the_page_metric_list_carry_the_new_metrics_exactly_where_served(
    api, team_client
) -> None:
    """Each activity operation's ``metric`` enum is the shipped app's plus the new metrics
    served there; its description and ``GET /v2/metrics`` (what the chart page reads for
    its metric and entity choices) carry the YAML's label."""
    token = {"Authorization": f"Bearer {api.token()}"}
    shipped = api.get("/v2/openapi.json").json()
    document = team_client.get("/v2/openapi.json").get_json()
    for entity in ENTITIES:
        parameters = {p["name"]: p for p in _operation(document, entity)["parameters"]}
        before = {p["name"]: p for p in _operation(shipped, entity)["parameters"]}
        new_here = [name for name in LABELS if entity in SERVED_ON[name]]
        assert parameters["metric"]["schema"]["enum"] == [
            *before["metric"]["schema"]["enum"],
            *new_here,
        ]
        description = _operation(document, entity)["description"]
        for name in new_here:
            assert f"`{name}` ({LABELS[name]})" in description

    page = team_client.get("/")
    assert page.status_code == 200
    script = team_client.get(
        re.search(r'src="([^"]*daybook\.js)"', page.get_data(as_text=True)).group(1)
    )
    assert '"/v2/metrics"' in script.get_data(as_text=True)  # the page's metric list
    catalogue = team_client.get("/v2/metrics", headers=token).get_json()
    listed = {m["name"]: m for m in catalogue["data"]}
    for name, label in LABELS.items():
        assert listed[name]["label"] == label
        assert tuple(listed[name]["entities"]) == SERVED_ON[name]
    assert [e["name"] for e in catalogue["entities"]] == list(ENTITIES)


@pytest.fixture
def team_cli(team_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(team_dir))
    monkeypatch.delenv("DAYBOOK_DBT_MANIFEST", raising=False)
    yield CliRunner()


def test_the_cli_lists_the_new_metrics_and_prints_sql_that_computes_them(
    api, built, team_cli: CliRunner, backend: str
) -> None:
    """``daybook metrics`` lists each with its label and entities; ``daybook sql`` prints
    SQL for each served entity which, run as printed on the sample warehouse with the
    parameters its header names, gives the hand-computed series (weekly, a range that
    starts before the data); an entity its model lacks is refused."""
    listed = team_cli.invoke(main, ["metrics"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines()[1:]}
    for name, label in LABELS.items():
        assert f"  {label}  " in rows[name] or f" {label} " in rows[name]
        assert f" {','.join(SERVED_ON[name])} " in rows[name]

    start, end = RANGES[0]
    ids = chosen_ids(api)
    with connection(built.warehouse, read_only=True) as con:
        for name, entities in SERVED_ON.items():
            for entity in ENTITIES:
                args = ["sql", "--metric", name, "--entity", entity, "--granularity", "weekly"]
                result = team_cli.invoke(main, [*args, "--dialect", backend])
                if entity not in entities:
                    assert result.exit_code == 1
                    assert f"Metric {name} is not defined for entity {entity}" in result.output
                    continue
                assert result.exit_code == 0, result.output
                header, _, sql = result.output.partition("\n")
                assert header.startswith(f"-- {name} per {entity}, weekly, {backend}")
                names = header.split("bound parameters (named): ")[1].split(", ")
                client, entity_id = ids[entity][0]
                values = {
                    "tenant_id": client,
                    "entity_id": entity_id,
                    "start_date": start,
                    "end_date": end,
                }
                cursor = con.cursor()
                cursor.execute(sql.rstrip().rstrip(";"), {n: values[n] for n in names})
                got = [(row[0], row[1]) for row in cursor.fetchall()]
                hand = by_hand(api, name, entity, client, entity_id, start, end, "weekly")
                where = (name, entity, backend)
                assert [_day(b) for b, _ in got] == [b for b, _ in hand], where
                for (_, value), (_, expected) in zip(got, hand, strict=True):
                    if expected is None:
                        assert value is None, where
                    else:
                        assert float(value) == pytest.approx(expected, rel=1e-9), where


def _day(value) -> date:
    """A bucket start as a date (drivers may give a datetime)."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value
