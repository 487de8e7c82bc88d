"""Loading ``semantic/``: the shipped catalogue, and each bad YAML failing by file and key.

Metrics are dbt's: each bad case below is a copy of the shipped folder with one file
added, parsed by dbt (``daybook.semantic.dbt_parse``, cached by content) and then checked
by Daybook. Either dbt refuses it (its message, naming the file) or Daybook does (file,
metric, key and the nearest valid name), for what dbt lets through.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from support import SHIPPED_SEMANTIC_DIR

from daybook.semantic import Catalog, SemanticError, load_catalog
from daybook.semantic.loader import load_registry
from semantic.marts import MART_COLUMNS, write_manifest

REGISTRY_ONLY = """
entities:
  - {name: user, label: User, model: dim_users, key: user_id, tenant_key: client_id}
  - {name: device, label: Device, model: dim_devices, key: device_id, tenant_key: client_id}
"""


def metric_yaml(
    name: str = "heartbeat_total", measure: str = "heartbeats", filter_: str | None = None
) -> str:
    """A one-metric file in dbt's spec; ``filter_`` adds a ``filter:``."""
    text = f"""
    metrics:
      - name: {name}
        label: Heartbeats
        description: Heartbeats received.
        type: simple
        type_params:
          measure: {measure}
    """
    if filter_ is not None:
        text += f'    filter: "{filter_}"\n'
    return text


def semantic_model_yaml(entities: str, measure_expr: str = "heartbeat_count") -> str:
    """One semantic model over the activity fact with the given entities and one measure."""
    return f"""
    semantic_models:
      - name: extra_activity
        model: ref('fct_activity_daily')
        primary_entity: extra_row
        defaults: {{agg_time_dimension: activity_date}}
        entities: {entities}
        dimensions:
          - {{name: activity_date, type: time, type_params: {{time_granularity: day}}}}
        measures:
          - {{name: extra_heartbeats, agg: sum, expr: {measure_expr}}}
    """


def write_semantic(folder: Path, files: dict[str, str], *, shipped: bool = True) -> Path:
    """A semantic folder: a copy of the shipped one (or empty), plus ``files``."""
    if shipped:
        shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
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
    assert catalog.metrics["activity-count"].dbt_name == "activity_count"
    for_users = {metric.name for metric in catalog.metrics_for("user")}
    for_devices = {metric.name for metric in catalog.metrics_for("device")}
    for_client = {metric.name for metric in catalog.metrics_for("client")}
    assert "activity-count" in for_users & for_devices & for_client
    assert "user-count" in (for_devices & for_client) - for_users  # not per user
    assert "device-count" in (for_users & for_client) - for_devices  # not per device


def test_semantic_dir_defaults_to_the_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest_path: Path
) -> None:
    folder = write_semantic(tmp_path / "s", {"metrics/zz.yml": metric_yaml()})
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(folder))
    loaded = load_catalog(manifest_path=manifest_path)
    assert list(loaded.metrics)[-1] == "heartbeat-total"  # files in path order
    assert loaded.metrics["heartbeat-total"].entities == ("user", "device", "client")


# (case id, files added to a copy of the shipped folder, file the error names, regex)
BAD_CASES = [
    (
        "a metric type dbt does not know (its parser raised a traceback)",
        {
            "metrics/weird.yml": """
            metrics:
              - name: weird_metric
                label: Weird
                description: A type no spec has.
                type: percentile_thing
                type_params:
                  measure: activity_count
            """
        },
        "metrics/weird.yml",
        r"metrics/weird\.yml: line 6, type \(metric weird_metric\): not a valid MetricType "
        r".*`percentile_thing`",
    ),
    (
        "derived metrics that refer to each other (dbt recursed until Python stopped it)",
        {
            "metrics/cycle.yml": """
            metrics:
              - {name: cyc_a, label: A, type: derived,
                 type_params: {expr: cyc_b + 1, metrics: [{name: cyc_b}]}}
              - {name: cyc_b, label: B, type: derived,
                 type_params: {expr: cyc_a * 2, metrics: [cyc_a]}}
            """
        },
        "metrics/cycle.yml",
        r"metric cyc_a refers to itself \(cyc_a -> cyc_b -> cyc_a\): a derived or ratio "
        r"metric cannot be its own input",
    ),
    (
        "a window dbt cannot read (named by dbt without its file)",
        {
            "metrics/window.yml": """
            metrics:
              - name: bad_window
                label: W
                type: cumulative
                type_params:
                  measure: total_activity
                  cumulative_type_params: {window: 7 fortnights}
            """
        },
        "metrics/window.yml",
        r"metrics/window\.yml: line 8, window \(metric bad_window\): Invalid time "
        r"granularity 'fortnights'",
    ),
    (
        "an alias too short for dbt",
        {
            "metrics/alias.yml": """
            metrics:
              - {name: short_alias, label: S, type: derived,
                 type_params: {expr: a + 1, metrics: [{name: activity_count, alias: a}]}}
            """
        },
        "metrics/alias.yml",
        r"metrics/alias\.yml: line 4, alias \(metric short_alias\): Invalid name `a`",
    ),
    (
        "a conversion metric over measures dbt does not count conversions with",
        {
            "conversion.yml": """
            semantic_models:
              - name: conv_model
                model: ref('fct_activity_daily')
                primary_entity: conv_row
                defaults: {agg_time_dimension: activity_date}
                entities:
                  - {name: user, type: foreign, expr: user_id}
                dimensions:
                  - {name: activity_date, type: time, type_params: {time_granularity: day}}
                measures:
                  - {name: conv_base, agg: sum_boolean, expr: total_activity_count > 0}
                  - {name: conv_step, agg: count, expr: "1"}
            metrics:
              - name: chrome_conversion
                label: C
                type: conversion
                type_params:
                  conversion_type_params:
                    base_measure: conv_base
                    conversion_measure: conv_step
                    entity: user
            """
        },
        "conversion.yml",
        r"conversion\.yml: line 20, base_measure \(metric chrome_conversion\): For "
        r"conversion metrics, the measure must be",
    ),
    (
        "today's old format, refused by dbt",
        {
            "metrics/old.yml": """
            metrics:
              - name: heartbeats-old
                label: Heartbeats
                description: Old format.
                model: fct_activity_daily
                aggregation: sum
            """
        },
        "metrics/old.yml",
        r"dbt refused the semantic YAML: .*Additional properties are not allowed",
    ),
    (
        "misspelt dimension in a filter",
        {"metrics/m.yml": metric_yaml(filter_="{{ Dimension('device__platfrom') }} = 'mac'")},
        "metrics/m.yml",
        r"metrics\[0\] \(heartbeat_total\)\.filter: unknown dimension 'device__platfrom' "
        r"\(did you mean 'device__platform'\?\)",
    ),
    (
        "SQL comment in a filter (its text would run: the comment ends at */)",
        {
            "metrics/m.yml": metric_yaml(
                filter_="{{ Dimension('device__platform') }} = 'mac' -- */ ) OR (1=1 /*"
            )
        },
        "metrics/m.yml",
        r"heartbeat_total.*filter.*SQL comments \(-- or /\* \*/\) are not allowed",
    ),
    (
        "second statement in a filter",
        {
            "metrics/m.yml": metric_yaml(
                filter_="{{ Dimension('device__platform') }} = 'mac'; "
                "{{ Dimension('device__platform') }} = 'windows'"
            )
        },
        "metrics/m.yml",
        r"heartbeat_total.*filter.*one expression only, no ';'",
    ),
    (
        "SQL comment in a measure's expr",
        {
            "extra.yml": semantic_model_yaml(
                "[{name: client, type: foreign, expr: client_id}]",
                "'heartbeat_count /* */ + (select count(*) from fct_activity_daily) /* */'",
            ),
            "metrics/m.yml": metric_yaml(measure="extra_heartbeats"),
        },
        "metrics/m.yml",
        r"extra_heartbeats.*SQL comments \(-- or /\* \*/\) are not allowed",
    ),
    (
        "dimension of a semantic model no entity reaches",
        {"metrics/m.yml": metric_yaml(filter_="{{ Dimension('team__name') }} = 'a'")},
        "metrics/m.yml",
        r"metrics\[0\] \(heartbeat_total\)\.filter: unknown dimension 'team__name'",
    ),
    (
        "dimension no entity reaches in a ratio's numerator filter, named at its key",
        {
            "metrics/m.yml": """
            metrics:
              - name: filtered_ratio
                label: Filtered ratio
                description: A ratio whose numerator filter names a misspelt dimension.
                type: ratio
                type_params:
                  numerator:
                    name: activity_count
                    filter: "{{ Dimension('user__emial') }} = 'x'"
                  denominator: activity_count
            """
        },
        "metrics/m.yml",
        r"metrics\[0\] \(filtered_ratio\)\.type_params\.numerator\.filter: unknown dimension "
        r"'user__emial' \(did you mean 'user__email'\?\)",
    ),
    (
        "unknown measure, refused by dbt",
        {"metrics/m.yml": metric_yaml(measure="heartbeets")},
        "metrics/m.yml",
        # the line and the nearest measure (dbt named the file only)
        r"dbt refused the semantic YAML: .*metrics/m\.yml: line 8, measure \(metric "
        r"heartbeat_total\): unknown measure 'heartbeets' \(did you mean 'heartbeats'\?\)",
    ),
    (
        "unknown column in a measure",
        {
            "extra.yml": semantic_model_yaml(
                "[{name: client, type: foreign, expr: client_id}]", "heartbeat_cnt"
            ),
            "metrics/m.yml": metric_yaml(measure="extra_heartbeats"),
        },
        "metrics/m.yml",
        r"metrics\[0\] \(heartbeat_total\)\.measure expr: unknown column 'heartbeat_cnt' "
        r"\(did you mean 'heartbeat_count'\?\)",
    ),
    (
        "unknown column in a dimension's expr",
        {
            "extra.yml": semantic_model_yaml(
                "[{name: client, type: foreign, expr: client_id}]"
            ).replace(
                "          - {name: activity_date,",
                "          - {name: busy, type: categorical,"
                " expr: 'case when heartbeat_cnt > 3 then 1 else 0 end'}\n"
                "          - {name: activity_date,",
            ),
            "metrics/m.yml": metric_yaml(measure="extra_heartbeats"),
        },
        "extra.yml",
        r"semantic_models\[0\] \(extra_activity\)\.dimensions \(busy\)\.expr: unknown column "
        r"'heartbeat_cnt' \(did you mean 'heartbeat_count'\?\)",
    ),
    (
        "entity expr that is not the registry's key",
        {
            "extra.yml": semantic_model_yaml("[{name: user, type: foreign, expr: device_id}]"),
            "metrics/m.yml": metric_yaml(measure="extra_heartbeats"),
        },
        "extra.yml",
        r"semantic_models\[0\] \(extra_activity\)\.entities\[0\] \(user\)\.expr: "
        r"'device_id' is not the registry's key of 'user' \('user_id'",
    ),
    (
        "semantic model with no served entity",
        {
            "extra.yml": semantic_model_yaml("[{name: team, type: foreign, expr: user_id}]"),
            "metrics/m.yml": metric_yaml(measure="extra_heartbeats"),
        },
        "metrics/m.yml",
        r"metrics\[0\] \(heartbeat_total\): its semantic model \(extra_activity\) has none "
        r"of the entities user, device, client",
    ),
    (
        "dbt's own semantic validation, named by file",
        {
            "extra.yml": semantic_model_yaml(
                "[{name: client, type: foreign, expr: client_id}]"
            ).replace("        primary_entity: extra_row\n", "")
        },
        "extra.yml",
        r"dbt refused the semantic YAML: .*extra_activity contains dimensions, but it does "
        r"not define a primary entity",
    ),
    (
        "typo in a top-level key",
        {"metrics/m.yml": metric_yaml().replace("metrics:", "metric:")},
        "metrics/m.yml",
        r"metric: unknown key 'metric' \(did you mean 'metrics'\?\)",
    ),
    (
        "invalid YAML",
        {"metrics/m.yml": "metrics:\n  - name: [unclosed\n"},
        "metrics/m.yml",
        r"invalid YAML at line \d+",
    ),
    (
        "duplicate entity in the registry",
        {"z.yml": REGISTRY_ONLY},
        "z.yml",
        r"entities\[0\] \(user\)\.name: duplicate entity 'user'",
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
    folder = write_semantic(tmp_path / "semantic", files)
    with pytest.raises(SemanticError) as raised:
        load_catalog(folder, manifest_path=manifest_path)
    text = str(raised.value)
    assert str(folder / bad_file) in text, text
    assert re.search(message, text), text
    assert "Traceback" not in text, text


def test_an_entity_key_dbt_does_not_document_is_refused(
    tmp_path: Path, manifest_path: Path
) -> None:
    folder = write_semantic(
        tmp_path / "s",
        {
            "entities.yml": "entities:\n  - {name: person, label: Person, model: dim_users, "
            "key: usr_id, tenant_key: client_id}\n"
        },
        shipped=False,
    )
    with pytest.raises(SemanticError) as raised:
        load_registry(folder, manifest_path=manifest_path)
    assert str(folder / "entities.yml") in str(raised.value)
    assert re.search(
        r"entities\[0\] \(person\)\.key: unknown column 'usr_id' \(did you mean 'user_id'\?\)",
        str(raised.value),
    )


def test_column_checks_follow_the_manifest_documented_columns(tmp_path: Path) -> None:
    """A column dbt builds but does not document is refused: the manifest is the contract."""
    undocumented = {**MART_COLUMNS, "fct_activity_daily": ("client_id", "activity_date", "user_id")}
    manifest = write_manifest(tmp_path / "manifest.json", undocumented)
    with pytest.raises(SemanticError, match=r"unknown column '(device_id|total_activity_count)'"):
        load_catalog(SHIPPED_SEMANTIC_DIR, manifest_path=manifest)


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
    with pytest.raises(SemanticError, match=message):
        load_catalog(SHIPPED_SEMANTIC_DIR, manifest_path=manifest)


def test_a_broken_semantic_manifest_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "semantic_manifest.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(SemanticError, match="not a readable dbt semantic manifest"):
        load_catalog(SHIPPED_SEMANTIC_DIR, semantic_manifest=broken)


def test_missing_semantic_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SemanticError, match="semantic directory not found"):
        load_catalog(tmp_path / "nowhere")


def test_the_same_bad_value_in_two_metrics_is_placed_once_in_each(
    tmp_path: Path, manifest_path: Path
) -> None:
    """dbt says the same words for each metric with a too-short alias and names neither:
    each message goes to its own metric's line (both named the first, twice)."""
    folder = write_semantic(
        tmp_path / "semantic",
        {
            "metrics/alias.yml": """
            metrics:
              - {name: first_short, label: F, type: derived,
                 type_params: {expr: b + 1, metrics: [{name: activity_count, alias: b}]}}
              - {name: second_short, label: S, type: derived,
                 type_params: {expr: b + 2, metrics: [{name: activity_count, alias: b}]}}
            """
        },
    )
    with pytest.raises(SemanticError) as raised:
        load_catalog(folder, manifest_path=manifest_path)
    lines = [line for line in str(raised.value).splitlines() if "Invalid name `b`" in line]
    places = {re.search(r"line (\d+), alias \(metric (\w+)\)", line).groups() for line in lines}
    assert places == {("4", "first_short"), ("6", "second_short")}, str(raised.value)
