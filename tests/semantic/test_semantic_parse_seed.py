"""Parses of changed YAML start from the last parse (dbt's partial parsing) and miss nothing.

``daybook.semantic.dbt_parse`` seeds each ``dbt parse`` with the previous one's
``partial_parse.msgpack``, so dbt reads again only the files that differ. What such a
parse yields must be what the YAML says now: metrics added, removed and changed between
parses, and a semantic model's measure renamed, are each checked against the YAML files
read as plain YAML (not through dbt), and the parse is shown to have been partial.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import yaml
from support import SHIPPED_SEMANTIC_DIR

from daybook.semantic.dbt_parse import semantic_manifest_for

MODEL = """
semantic_models:
  - name: seed_activity
    model: ref('fct_activity_daily')
    primary_entity: seed_row
    defaults: {{agg_time_dimension: activity_date}}
    entities:
      - {{name: client, type: foreign, expr: client_id}}
    dimensions:
      - {{name: activity_date, type: time, type_params: {{time_granularity: day}}}}
    measures:
      - {{name: {measure}, agg: sum, expr: heartbeat_count}}
"""


def metric(name: str, label: str, measure: str, where: str | None = None) -> dict:
    item = {"name": name, "label": label, "type": "simple", "type_params": {"measure": measure}}
    return item | ({"filter": where} if where else {})


def yaml_metrics(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Every metric of ``folder`` as its YAML says: name -> (label, filter)."""
    found = {}
    for path in folder.rglob("*.yml"):
        for item in (yaml.safe_load(path.read_text()) or {}).get("metrics") or []:
            found[item["name"]] = (item.get("label"), item.get("filter"))
    return found


def parsed_metrics(manifest: Path) -> dict[str, tuple[str, str | None]]:
    """Every metric of dbt's semantic manifest: name -> (label, filter template)."""
    found = {}
    for item in json.loads(manifest.read_text())["metrics"]:
        filters = (item.get("filter") or {}).get("where_filters") or []
        found[item["name"]] = (
            item.get("label"),
            filters[0]["where_sql_template"] if filters else None,
        )
    return found


def measures(manifest: Path) -> set[str]:
    models = json.loads(manifest.read_text())["semantic_models"]
    return {measure["name"] for model in models for measure in model["measures"]}


def test_each_parse_reads_the_yaml_as_it_is_now(tmp_path: Path) -> None:
    folder = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    extra = folder / "metrics" / "seed.yml"
    platform = "{{ Dimension('seed_row__activity_date') }} >= '2026-01-01'"
    steps = [
        ("seed_heartbeats", [metric("seed_a", "A", "seed_heartbeats")]),
        ("seed_heartbeats", [metric("seed_b", "B", "seed_heartbeats", platform)]),
        ("seed_heartbeats", [metric("seed_b", "B changed", "seed_heartbeats")]),
        ("seed_renamed", [metric("seed_b", "B changed", "seed_renamed")]),
    ]
    partial = 0
    for step, (measure, metrics) in enumerate(steps):
        text = textwrap.dedent(MODEL.format(measure=measure))
        extra.write_text(text + yaml.safe_dump({"metrics": metrics}, sort_keys=False))
        manifest = semantic_manifest_for(folder)
        assert parsed_metrics(manifest) == yaml_metrics(folder), step
        renamed_away = {"seed_heartbeats", "seed_renamed"} - {measure}
        assert measure in measures(manifest) and not renamed_away & measures(manifest), step
        perf = json.loads(manifest.with_name("perf_info.json").read_text())
        partial += perf["is_partial_parse_enabled"] and perf["parsed_path_count"] < 5
    # the first parse may find the seed of another test's parse; the later three find this one's
    assert partial >= 3
