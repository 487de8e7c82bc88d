"""Test fixtures for dbt's metric types: a semantic YAML of every type, parsed by dbt itself.

``SPEC`` is written the way a data team writes dbt's semantic layer. ``parse_manifest``
puts it in a throw-away dbt project (stub models, ``dim_dates`` as the time spine) and
runs ``dbt parse``; the compiler reads the ``semantic_manifest.json`` dbt writes, the
reference (``tests/reference_metrics.py``) reads ``SPEC`` as plain YAML. The warehouse
side is two tables, the fact and ``dim_devices`` (a device's platform, one entity hop
from the fact), created in DuckDB or PostgreSQL by ``create_tables``.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from hypothesis import strategies as st

SPEC_TEXT = """
semantic_models:
  - name: activity
    model: ref('fct_activity_daily')
    primary_entity: activity
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: client, type: foreign, expr: client_id}
      - {name: user, type: foreign, expr: user_id}
      - {name: device, type: foreign, expr: device_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
      - {name: heartbeats, type: categorical, expr: heartbeat_count}
      - {name: browser_activity, type: categorical,
         expr: chrome_activity_count + edge_activity_count}
    measures:
      - {name: total_activity, agg: sum, expr: total_activity_count}
      - {name: chrome_activity, agg: sum, expr: chrome_activity_count}
      - {name: active_users, agg: count_distinct, expr: user_id}
      - {name: active_days, agg: count_distinct, expr: activity_date}
      - {name: busiest, agg: max, expr: total_activity_count}
      - {name: quietest, agg: min, expr: total_activity_count}
      - {name: mean_activity, agg: average, expr: total_activity_count}
      - {name: heavy_rows, agg: sum_boolean, expr: total_activity_count > 40}
      - {name: row_count, agg: count, expr: "1"}
  - name: devices
    model: ref('dim_devices')
    entities:
      - {name: device, type: primary, expr: device_id}
      - {name: client, type: foreign, expr: client_id}
    dimensions:
      - {name: platform, type: categorical}

metrics:
  - {name: activity_count, label: Activity, type: simple,
     type_params: {measure: {name: total_activity, fill_nulls_with: 0, join_to_timespine: true}}}
  - {name: users, label: Users, type: simple, type_params: {measure: active_users}}
  - {name: active_days, label: Active days, type: simple, type_params: {measure: active_days}}
  - {name: busiest_row, label: Busiest, type: simple, type_params: {measure: busiest}}
  - {name: quietest_or_zero, label: Quietest, type: simple,
     type_params: {measure: {name: quietest, fill_nulls_with: 0}}}
  - {name: mean_activity, label: Mean, type: simple, type_params: {measure: mean_activity}}
  - {name: mean_activity_or_zero, label: Mean or zero, type: simple,
     type_params: {measure: {name: mean_activity, fill_nulls_with: 0}}}
  - {name: heavy_rows, label: Heavy rows, type: simple, type_params: {measure: heavy_rows}}
  - {name: rows, label: Rows, type: simple, type_params: {measure: row_count}}
  - {name: windows_activity, label: Windows activity, type: simple,
     type_params: {measure: total_activity},
     filter: "{{ Dimension('device__platform') }} = 'windows'"}
  - {name: busy_row_activity, label: Busy rows, type: simple,
     type_params: {measure: total_activity},
     filter: "{{ Dimension('activity__heartbeats') }} > 2"}
  - {name: not_slashed_platform_activity, label: Not a slashed platform, type: simple,
     type_params: {measure: total_activity},
     filter: "{{ Dimension('device__platform') }} != 'Europe/Paris@x'"}
  - {name: browser_row_activity, label: Browser rows, type: simple,
     type_params: {measure: total_activity},
     filter: "{{ Dimension('activity__browser_activity') }} >= 6"}
  - {name: activity_per_active_day, label: Per day, type: ratio,
     type_params: {numerator: activity_count, denominator: active_days}}
  - {name: chrome_share, label: Chrome share, type: ratio,
     type_params: {numerator: {name: total_activity_metric, alias: chrome},
                   denominator: activity_count}}
  - {name: total_activity_metric, label: Chrome activity, type: simple,
     type_params: {measure: chrome_activity}}
  - {name: desktop_share, label: Windows and macOS share, type: ratio,
     type_params: {
       numerator: {name: activity_count,
                   filter: "{{ Dimension('device__platform') }} in ('windows', 'macos')"},
       denominator: {name: activity_count,
                     filter: "{{ Dimension('device__platform') }} != 'linux'"}}}
  - {name: activity_wow, label: WoW, type: derived,
     type_params: {expr: (cur - prev) / prev, metrics: [
       {name: activity_count, alias: cur},
       {name: activity_count, alias: prev, offset_window: 1 week}]}}
  - {name: activity_mom, label: MoM, type: derived,
     type_params: {expr: cur - prev, metrics: [
       {name: activity_count, alias: cur},
       {name: activity_count, alias: prev, offset_window: 1 month}]}}
  - {name: users_yoy, label: YoY, type: derived,
     type_params: {expr: cur - prev * 2, metrics: [
       {name: users, alias: cur},
       {name: users, alias: prev, offset_window: 1 year}]}}
  - {name: busiest_gap, label: Busiest gap, type: derived,
     filter: "{{ Dimension('device__platform') }} != 'macos'",
     type_params: {expr: busiest_row - quietest_or_zero, metrics: [
       {name: busiest_row}, {name: quietest_or_zero}]}}
  - {name: users_7d, label: Users 7d, type: cumulative,
     type_params: {measure: active_users,
                   cumulative_type_params: {window: 7 days, period_agg: last}}}
  - {name: users_28d, label: Users 28d, type: cumulative,
     type_params: {measure: active_users,
                   cumulative_type_params: {window: 28 days, period_agg: first}}}
  - {name: users_2w, label: Users 2 weeks, type: cumulative,
     type_params: {measure: active_users,
                   cumulative_type_params: {window: 2 weeks, period_agg: average}}}
  - {name: activity_mtd, label: MTD, type: cumulative,
     type_params: {measure: total_activity,
                   cumulative_type_params: {grain_to_date: month, period_agg: average}}}
  - {name: users_wtd, label: WTD, type: cumulative,
     type_params: {measure: active_users,
                   cumulative_type_params: {grain_to_date: week, period_agg: last}}}
  - {name: activity_all_time, label: All time, type: cumulative,
     type_params: {measure: total_activity}}
  - {name: windows_users_7d, label: Windows users 7d, type: cumulative,
     filter: "{{ Dimension('device__platform') }} = 'windows'",
     type_params: {measure: active_users,
                   cumulative_type_params: {window: 7 days, period_agg: last}}}
  - {name: users_7d_change, label: Users 7d change, type: derived,
     type_params: {expr: now - before, metrics: [
       {name: users_7d, alias: now}, {name: users_7d, alias: before, offset_window: 7 days}]}}
  - {name: chrome_share_wow, label: Chrome share WoW, type: derived,
     type_params: {expr: share - before, metrics: [
       {name: chrome_share, alias: share},
       {name: chrome_share, alias: before, offset_window: 1 week}]}}
"""
SPEC = yaml.safe_load(SPEC_TEXT)
FACT, DEVICES = "fct_activity_daily", "dim_devices"
FACT_COLUMNS = (
    "client_id", "activity_date", "user_id", "device_id", "chrome_activity_count",
    "edge_activity_count", "firefox_activity_count", "desktop_activity_count",
    "web_accessibility_activity_count", "total_activity_count", "heartbeat_count",
)  # fmt: skip
DEVICE_COLUMNS = ("device_id", "client_id", "platform")

_PROJECT = """name: metric_types
version: "1.0.0"
config-version: 2
profile: metric_types
model-paths: ["models"]
flags: {send_anonymous_usage_stats: false}
"""
_PROFILE = "metric_types:\n  target: d\n  outputs:\n    d: {type: duckdb, path: ':memory:'}\n"
_SPINE = """models:
  - name: dim_dates
    time_spine: {standard_granularity_column: date_day}
    columns: [{name: date_day, granularity: day}]
"""


def parse_manifest(folder: Path, spec_text: str | None = SPEC_TEXT) -> Path:
    """``spec_text`` in a stub dbt project parsed by ``dbt parse``; the semantic manifest."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(_PROJECT)
    (folder / "profiles.yml").write_text(_PROFILE)
    (folder / "models" / "dim_dates.sql").write_text("select current_date as date_day")
    (folder / "models" / "_spine.yml").write_text(_SPINE)
    for table, columns in ((FACT, FACT_COLUMNS), (DEVICES, DEVICE_COLUMNS)):
        if spec_text is None:
            break
        stub = "select " + ", ".join(f"null as {column}" for column in columns)
        (folder / "models" / f"{table}.sql").write_text(stub)
    if spec_text is not None:  # None: the caller wrote the YAML and stubs itself
        (folder / "models" / "semantic.yml").write_text(spec_text)
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(folder), "--profiles-dir", str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
    )
    manifest = folder / "target" / "semantic_manifest.json"
    if result.returncode != 0 or not manifest.exists():
        raise AssertionError(f"dbt parse failed:\n{result.stdout[-3000:]}")
    return manifest


SHIPPED_DIR = Path(__file__).resolve().parents[2] / "semantic"


def shipped_spec() -> dict:
    """The shipped ``semantic/`` YAML (dbt's files, not the registry) as plain YAML."""
    spec: dict = {"semantic_models": [], "metrics": []}
    for path in sorted(SHIPPED_DIR.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key in spec:
            spec[key] += data.get(key) or []
    return spec


def parse_shipped(folder: Path) -> Path:
    """The shipped semantic models and metrics parsed by dbt in a stub project (one stub
    model per ``ref``); the semantic manifest dbt writes."""
    spec = shipped_spec()
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    for path in sorted(SHIPPED_DIR.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        if data.get("semantic_models") or data.get("metrics"):
            name = "_".join(path.relative_to(SHIPPED_DIR).parts)
            (models / name).write_text(path.read_text())
    for model in spec["semantic_models"]:
        table = model["model"].split("'")[1]
        (models / f"{table}.sql").write_text("select 1 as stub")
    return parse_manifest(folder, spec_text=None)


def create_tables(con) -> None:
    """The fact and ``dim_devices`` with the fact's tenant/entity/day indexes (portable)."""
    counts = ", ".join(f"{column} bigint not null" for column in FACT_COLUMNS[4:])
    for statement in (
        f"create table {FACT} (client_id varchar not null, activity_date date not null, "
        f"user_id varchar not null, device_id varchar not null, {counts})",
        f"create index metric_types_user_day on {FACT} (client_id, user_id, activity_date)",
        f"create index metric_types_device_day on {FACT} (client_id, device_id, activity_date)",
        f"create index metric_types_client_day on {FACT} (client_id, activity_date)",
        f"create table {DEVICES} (device_id varchar primary key, client_id varchar, "
        "platform varchar)",
    ):
        con.execute(statement)


def replace_rows(con, fact: list[tuple], devices: list[tuple]) -> None:
    """Empty both tables and insert the rows (one multi-row insert each; small tables)."""
    for table, columns, rows in ((FACT, FACT_COLUMNS, fact), (DEVICES, DEVICE_COLUMNS, devices)):
        con.execute(f"delete from {table}")
        if rows:
            marks = "(" + ", ".join(["?"] * len(columns)) + ")"
            values = [value for row in rows for value in row]
            sql = f"insert into {table} values " + ", ".join([marks] * len(rows))
            if type(con).__module__.startswith("psycopg"):
                sql = sql.replace("?", "%s")
            con.execute(sql, values)


def tables_for_reference(fact: list[tuple], devices: list[tuple]) -> dict[str, list[dict]]:
    return {
        FACT: [dict(zip(FACT_COLUMNS, row, strict=True)) for row in fact],
        DEVICES: [dict(zip(DEVICE_COLUMNS, row, strict=True)) for row in devices],
    }


# --- random data and requests (Hypothesis) -------------------------------------------------

CLIENTS = ("c-1", "c-2")
USERS = ("u-1", "u-2", "u-3")
DEVICES_IDS = ("d-1", "d-2", "d-3", "d-4")
PLATFORMS = ("windows", "macos", "linux")
ENTITIES = ("user", "device", "client")
GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")
# Anchors cross year and quarter ends and the 2025/2026 DST changes (weeks of 26 Oct,
# 2 Nov 2025, 8 and 29 Mar 2026); data sits in WINDOW_DAYS after the anchor.
ANCHOR_FROM, ANCHOR_TO = date(2025, 8, 1), date(2026, 5, 1)
WINDOW_DAYS = 60


@dataclass(frozen=True)
class Request:
    metric: str
    entity: str
    granularity: str
    tenant_id: str
    entity_id: str | None
    start: date
    end: date


@st.composite
def warehouses(draw: st.DrawFn, max_rows: int = 50) -> tuple[date, list[tuple], list[tuple]]:
    """An anchor day, fact rows unique on (client, day, user, device), and device rows
    (some devices missing: a filter on their platform is then false)."""
    anchor = draw(st.dates(min_value=ANCHOR_FROM, max_value=ANCHOR_TO))
    days = st.dates(min_value=anchor, max_value=anchor + timedelta(days=WINDOW_DAYS))
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CLIENTS), days, st.sampled_from(USERS), st.sampled_from(DEVICES_IDS)
            ),
            max_size=max_rows,
            unique=True,
        )
    )
    counts = st.tuples(*[st.integers(min_value=0, max_value=30)] * 5)
    fact = []
    for client, day, user, device in keys:
        sources = draw(counts)
        fact.append((client, day, user, device, *sources, sum(sources), draw(st.integers(1, 6))))
    devices = [
        (device, draw(st.sampled_from(CLIENTS)), draw(st.sampled_from(PLATFORMS)))
        for device in draw(st.lists(st.sampled_from(DEVICES_IDS), unique=True))
    ]
    return anchor, fact, devices


@st.composite
def requests(draw: st.DrawFn, anchor: date, fact: list[tuple], metrics: list[str]) -> Request:
    """Any metric, entity and granularity; 1..90 days, from before the data to its end;
    half of them start or end within a few days of a row of the request's entity."""
    entity = draw(st.sampled_from(ENTITIES))
    length = draw(st.integers(min_value=0, max_value=89))
    tenant = draw(st.sampled_from(CLIENTS))
    entity_id = {"user": draw(st.sampled_from(USERS)), "device": draw(st.sampled_from(DEVICES_IDS))}
    start = anchor + timedelta(days=draw(st.integers(min_value=-100, max_value=WINDOW_DAYS)))
    if fact and draw(st.booleans()):
        row = draw(st.sampled_from(fact))
        tenant, entity_id = row[0], {"user": row[2], "device": row[3]}
        edge = row[1] + timedelta(days=draw(st.integers(min_value=-3, max_value=3)))
        start = edge if draw(st.booleans()) else edge - timedelta(days=length)
    return Request(
        metric=draw(st.sampled_from(metrics)),
        entity=entity,
        granularity=draw(st.sampled_from(GRANULARITIES)),
        tenant_id=tenant,
        entity_id=entity_id.get(entity),
        start=start,
        end=start + timedelta(days=length),
    )


def same_value(got, expected) -> bool:
    """One bucket's value equals the reference's: same type (int or float), floats to
    1e-9, None only where the reference has none."""
    if expected is None or got is None:
        return got is expected
    if isinstance(expected, float):
        return type(got) is float and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)
    return type(got) is int and got == expected
