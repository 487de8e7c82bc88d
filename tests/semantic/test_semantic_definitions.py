"""Loading ``semantic/``: the shipped catalogue, and each bad YAML failing by file and key."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from daybook.semantic import AGGREGATIONS, Catalog, SemanticError, load_catalog
from semantic.marts import MART_COLUMNS, write_manifest

ENTITIES = """
entities:
  - {name: user, label: User, model: dim_users, key: user_id, tenant_key: client_id}
  - {name: device, label: Device, model: dim_devices, key: device_id, tenant_key: client_id}
"""
GOOD_METRIC = {
    "name": "heartbeats",
    "label": "Heartbeats",
    "description": "Heartbeats received.",
    "model": "fct_activity_daily",
    "time_column": "activity_date",
    "aggregation": "sum",
    "expression": "heartbeat_count",
    "entities": "[user, device]",
}


def metric_yaml(**overrides: str | None) -> str:
    """A one-metric file; ``None`` drops a key, any other value replaces it (raw YAML)."""
    fields = {**GOOD_METRIC, **overrides}
    lines = [f"    {key}: {value}" for key, value in fields.items() if value is not None]
    return "metrics:\n  -\n" + "\n".join(lines) + "\n"


def write_semantic(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def test_shipped_catalogue_serves_the_contract_metrics_on_the_contract_entities(
    catalog: Catalog,
) -> None:
    """Contract section 3: the required metrics, their labels, and who may ask for them.

    What each shipped metric computes is not restated here: the property tests
    execute every one of them against the plain-Python reference.
    """
    assert catalog.metrics["activity-count"].label == "Total Activity"
    assert catalog.metrics["user-count"].label == "Daily Users"
    for_users = {metric.name for metric in catalog.metrics_for("user")}
    for_devices = {metric.name for metric in catalog.metrics_for("device")}
    assert "activity-count" in for_users & for_devices
    assert "user-count" in for_devices - for_users  # devices only


def test_semantic_dir_defaults_to_the_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest_path: Path
) -> None:
    folder = write_semantic(tmp_path / "s", {"entities.yml": ENTITIES, "m.yml": metric_yaml()})
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(folder))
    assert list(load_catalog(manifest_path=manifest_path).metrics) == ["heartbeats"]


# (case id, files besides entities.yml, file the error must name, regex the error must match)
BAD_CASES = [
    (
        "unknown model",
        {"m.yml": metric_yaml(model="fct_activity_dayly")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.model: unknown model 'fct_activity_dayly' "
        r"\(did you mean 'fct_activity_daily'\?\)",
    ),
    (
        "unknown column in the expression",
        {"m.yml": metric_yaml(expression="heartbeat_count + crome_activity_count")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: unknown column 'crome_activity_count' "
        r"\(did you mean 'chrome_activity_count'\?\)",
    ),
    (
        "unknown time column",
        {"m.yml": metric_yaml(time_column="activity_day")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.time_column: unknown column 'activity_day'",
    ),
    (
        "duplicate metric name across files",
        {"a.yml": metric_yaml(), "b.yml": metric_yaml(label="Again")},
        "b.yml",
        r"metrics\[0\] \(heartbeats\)\.name: duplicate metric 'heartbeats' "
        r"\(first defined in .*a\.yml\)",
    ),
    (
        "unsupported aggregation",
        {"m.yml": metric_yaml(aggregation="median")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.aggregation: unsupported aggregation 'median'; "
        r"expected one of: " + ", ".join(AGGREGATIONS),
    ),
    (
        "typo in a metric key",
        {"m.yml": metric_yaml(aggregation=None) + "    agregation: sum\n"},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.agregation: unknown key 'agregation' "
        r"\(did you mean 'aggregation'\?\)",
    ),
    (
        "typo in a top-level key",
        {"m.yml": metric_yaml().replace("metrics:", "metric:")},
        "m.yml",
        r"metric: unknown key 'metric' \(did you mean 'metrics'\?\)",
    ),
    (
        "missing key",
        {"m.yml": metric_yaml(label=None)},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.label: required key is missing",
    ),
    (
        "unknown entity",
        {"m.yml": metric_yaml(entities="[user, devise]")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.entities: unknown entity 'devise' "
        r"\(did you mean 'device'\?\)",
    ),
    (
        "aggregate inside the expression",
        {"m.yml": metric_yaml(expression="SUM(heartbeat_count)")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: 'SUM\(heartbeat_count\)' uses SUM, not allowed",
    ),
    (
        "sub-query in the expression",
        {"m.yml": metric_yaml(expression='"(SELECT max(x) FROM secrets)"')},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: .* not allowed",
    ),
    (
        "quoted column name that is not a plain identifier",
        {"m.yml": metric_yaml(expression="'\"a; drop table x\"'")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: .*column names are letters, digits and _",
    ),
    (
        "table-qualified column",
        {"m.yml": metric_yaml(expression="secrets.heartbeat_count")},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: .*qualify no column with a table",
    ),
    (
        "unparseable expression",
        {"m.yml": metric_yaml(expression='"heartbeat_count +"')},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.expression: cannot parse",
    ),
    (
        "SQL in a model name",
        {"m.yml": metric_yaml(model='"fct_activity_daily; drop table x"')},
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.model: String should match pattern",
    ),
    (
        "metric name not usable in a URL",
        {"m.yml": metric_yaml(name='"Heart Beats"')},
        "m.yml",
        r"metrics\[0\] \(Heart Beats\)\.name: String should match pattern",
    ),
    (
        "invalid YAML",
        {"m.yml": "metrics:\n  - name: [unclosed\n"},
        "m.yml",
        r"invalid YAML at line \d+",
    ),
    (
        "entity key not a column of its model",
        {
            "e2.yml": "entities:\n  - {name: person, label: Person, model: dim_users, "
            "key: usr_id, tenant_key: client_id}\n"
        },
        "e2.yml",
        r"entities\[0\] \(person\)\.key: unknown column 'usr_id' \(did you mean 'user_id'\?\)",
    ),
    (
        "duplicate entity",
        {"z.yml": ENTITIES},
        "z.yml",
        r"entities\[0\] \(user\)\.name: duplicate entity 'user'",
    ),
    (
        "entity key missing from the metric's model",
        {
            "e2.yml": "entities:\n  - {name: client, label: Client, model: dim_clients, "
            "key: timezone, tenant_key: client_id}\n",
            "m.yml": metric_yaml(entities="[client]"),
        },
        "m.yml",
        r"metrics\[0\] \(heartbeats\)\.entities: unknown column 'timezone' "
        r"of model 'fct_activity_daily'",
    ),
]


@pytest.mark.parametrize(
    ("files", "bad_file", "message"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_definitions_fail_naming_file_and_key(
    tmp_path: Path, manifest_path: Path, files: dict[str, str], bad_file: str, message: str
) -> None:
    folder = write_semantic(tmp_path / "semantic", {"entities.yml": ENTITIES, **files})
    with pytest.raises(SemanticError) as raised:
        load_catalog(folder, manifest_path=manifest_path)
    text = str(raised.value)
    assert str(folder / bad_file) in text
    assert re.search(message, text), text


def test_column_checks_follow_the_manifest_documented_columns(tmp_path: Path) -> None:
    """A column dbt builds but does not document is refused: the manifest is the contract."""
    undocumented = {**MART_COLUMNS, "fct_activity_daily": ("client_id", "activity_date", "user_id")}
    manifest = write_manifest(tmp_path / "manifest.json", undocumented)
    folder = write_semantic(tmp_path / "s", {"entities.yml": ENTITIES, "m.yml": metric_yaml()})
    with pytest.raises(SemanticError, match=r"\.time_column|\.expression: unknown column"):
        load_catalog(folder, manifest_path=manifest)


def test_without_a_manifest_only_the_definitions_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBOOK_PROJECT_DIR", str(tmp_path))  # no dbt target/ here
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"duckdb://{tmp_path / 'never-built.duckdb'}")
    monkeypatch.delenv("DAYBOOK_DBT_MANIFEST", raising=False)
    folder = write_semantic(
        tmp_path / "s", {"entities.yml": ENTITIES, "m.yml": metric_yaml(model="not_built_yet")}
    )
    assert load_catalog(folder).metrics["heartbeats"].model == "not_built_yet"


@pytest.mark.parametrize(
    ("manifest_text", "message"),
    [
        (None, "dbt manifest not found"),
        ("{not json", "not a readable dbt manifest"),
        ("[]", "no 'nodes'"),
    ],
)
def test_a_broken_manifest_is_a_clear_error(
    tmp_path: Path, manifest_text: str | None, message: str
) -> None:
    manifest = tmp_path / "manifest.json"
    if manifest_text is not None:
        manifest.write_text(manifest_text, encoding="utf-8")
    folder = write_semantic(tmp_path / "s", {"entities.yml": ENTITIES, "m.yml": metric_yaml()})
    with pytest.raises(SemanticError, match=message):
        load_catalog(folder, manifest_path=manifest)


def test_missing_semantic_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SemanticError, match="semantic directory not found"):
        load_catalog(tmp_path / "nowhere")
