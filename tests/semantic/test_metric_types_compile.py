"""compile_metric without a warehouse: every dialect renders every metric type, parameters
bind only what the SQL uses, value types follow the metric type, and what dbt lets
through but Daybook cannot compile is refused naming the metric and the nearest name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
from dbt_semantic_interfaces.implementations.semantic_manifest import PydanticSemanticManifest
from sqlglot import exp

from daybook.semantic import SemanticError
from daybook.semantic.dialects import DIALECTS
from daybook.semantic.metric_sql import (
    ManifestView,
    check_metric,
    compile_metric,
    metric_entities,
)
from semantic.metric_types import SPEC, parse_manifest

FLOAT_METRICS = {"mean_activity", "mean_activity_or_zero", "users_2w", "activity_mtd"}


@pytest.fixture(scope="module")
def manifest_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = parse_manifest(tmp_path_factory.mktemp("compile"))
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def view(manifest_json: dict) -> ManifestView:
    return ManifestView(PydanticSemanticManifest.parse_obj(manifest_json))


def edited(manifest_json: dict, edit) -> ManifestView:
    """A view of the parsed manifest after ``edit(dict)`` (what dbt would not refuse)."""
    data = json.loads(json.dumps(manifest_json))
    edit(data)
    return ManifestView(PydanticSemanticManifest.parse_obj(data))


def metric_of(data: dict, name: str) -> dict:
    return next(m for m in data["metrics"] if m["name"] == name)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_metric_compiles_for_every_dialect(view: ManifestView, dialect: str) -> None:
    style = DIALECTS[dialect].param_style
    for spec in SPEC["metrics"]:
        name = spec["name"]
        for entity in ("device", "client"):  # with and without an entity key
            for granularity in ("daily", "weekly"):  # no truncation; the ISO week's
                query = compile_metric(view, name, entity, granularity, dialect)
                sqlglot.parse_one(query.sql, dialect=DIALECTS[dialect].sqlglot)
                expected = float if spec["type"] in ("ratio", "derived") else int
                if name in FLOAT_METRICS:
                    expected = float
                assert query.value_type is expected, name
                if style == "named":
                    wanted = {"tenant_id", "start_date", "end_date"}
                    if entity != "client":
                        wanted.add("entity_id")
                    assert set(query.parameter_order) == wanted, (name, entity)


def test_entities_follow_the_semantic_models(view: ManifestView, manifest_json: dict) -> None:
    assert metric_entities(view, "chrome_share") == ("client", "user", "device")

    def no_user(data: dict) -> None:
        model = next(m for m in data["semantic_models"] if m["name"] == "activity")
        model["entities"] = [e for e in model["entities"] if e["name"] != "user"]

    narrowed = edited(manifest_json, no_user)
    assert metric_entities(narrowed, "users_7d") == ("client", "device")
    with pytest.raises(SemanticError, match="not defined for entity user"):
        compile_metric(narrowed, "users_7d", "user", "daily", "duckdb")


def test_a_client_wide_query_binds_no_entity(view: ManifestView) -> None:
    from datetime import date

    query = compile_metric(view, "users_28d", "client", "monthly", "postgres")
    params = query.parameters(
        tenant_id="c-1", start_date=date(2026, 1, 1), end_date=date(2026, 3, 31)
    )
    assert params == {
        "tenant_id": "c-1",
        "start_date": date(2026, 1, 1),
        "end_date": date(2026, 3, 31),
    }
    device = compile_metric(view, "users_28d", "device", "monthly", "postgres")
    with pytest.raises(SemanticError, match="needs an entity_id"):
        device.parameters(tenant_id="c-1", start_date=date(2026, 1, 1), end_date=date(2026, 1, 2))


def _filter(metric: str, template: str):
    def edit(data: dict) -> None:
        metric_of(data, metric)["filter"] = {"where_filters": [{"where_sql_template": template}]}

    return edit


def _dimension(model: str, name: str, expr: str, *, time: bool = False):
    """Give semantic model ``model``'s dimension ``name`` the SQL ``expr`` (dbt allows it)."""

    def edit(data: dict) -> None:
        found = next(s for s in data["semantic_models"] if s["name"] == model)
        for dimension in found["dimensions"]:
            if dimension["name"] == name:
                dimension["expr"] = expr

    return edit


def test_a_dimension_expr_is_sql_on_its_own_table(manifest_json: dict) -> None:
    """A dimension's ``expr`` is an expression over its model's columns, each qualified by
    the table the filter reads it from (never one quoted "column" named by the whole text)."""

    def edit(data: dict) -> None:
        _dimension("devices", "platform", "case when platform = 'linux' then 'open' end")(data)
        _filter("windows_activity", "{{ Dimension('device__platform') }} = 'open'")(data)

    query = compile_metric(
        edited(manifest_json, edit), "windows_activity", "client", "daily", "duckdb"
    )
    where = sqlglot.parse_one(query.sql, dialect="duckdb").find(exp.Case)
    assert where is not None, query.sql
    assert {column.table for column in where.find_all(exp.Column)} == {"j_device"}
    assert '"case' not in query.sql.lower()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda data: (
                _dimension("devices", "platform", "upper(platform)")(data),
                _filter("windows_activity", "{{ Dimension('device__platform') }} = 'X'")(data),
            ),
            "filter: dimension 'device__platform' expr: 'upper(platform)' uses UPPER",
        ),
        (
            lambda data: (
                _dimension("devices", "platform", "1")(data),
                _filter("windows_activity", "{{ Dimension('device__platform') }} = 1")(data),
            ),
            "filter: dimension 'device__platform' expr '1' reads no column",
        ),
        (
            _dimension("activity", "activity_date", "cast(activity_date as date)"),
            "time dimension 'activity_date' of activity: expr 'cast(activity_date as date)' "
            "must be a column",
        ),
        (
            _filter("windows_activity", "{{ Dimension('device__platfrom') }} = 'windows'"),
            "windows_activity: filter: unknown dimension 'device__platfrom' "
            "(did you mean 'device__platform'?)",
        ),
        (
            _filter("windows_activity", "{{ Dimension('platform') }} = 'windows'"),
            "must be 'entity__dimension'",
        ),
        (
            _filter("windows_activity", "lower({{ Dimension('device__platform') }}) = 'x'"),
            "uses LOWER, not allowed",
        ),
        (
            lambda data: (
                _dimension("devices", "platform", "platform /* */ ) or (1 = 1 /* */")(data),
                _filter("windows_activity", "{{ Dimension('device__platform') }} = 'X'")(data),
            ),
            "SQL comments (-- or /* */) are not allowed",
        ),
        (
            _filter("windows_activity", "daybook_dimension_0 = 'windows'"),
            "'daybook_dimension_0' is not a Dimension(...)",
        ),
        (
            _filter(
                "windows_activity",
                "{{ Dimension('device__platform') }} = 'a' or daybook_dimension_x = 'b'",
            ),
            "'daybook_dimension_x' is not a Dimension(...)",
        ),
        (
            _filter("windows_activity", "{{ Dimension('device__platform') }} = 'a' -- */ or 1=1"),
            "SQL comments (-- or /* */) are not allowed",
        ),
        (
            lambda data: metric_of(data, "activity_wow")["type_params"].update(
                expr="(cur - prev) / prev /* */"
            ),
            "SQL comments (-- or /* */) are not allowed",
        ),
        (
            _filter("windows_activity", "{{ TimeDimension('metric_time', 'day') }} > '2026-01-01'"),
            "TimeDimension(...) is not supported",
        ),
        (
            _filter("windows_activity", "{{ Dimension('device__platform') }} = 'a'';drop'"),
            "string literals may hold only",
        ),
        (
            _filter("windows_activity", "{{ Dimension('device__platform') }} = 'windows\n'"),
            "string literals may hold only",
        ),
        (
            lambda data: metric_of(data, "activity_wow")["type_params"].update(
                expr="(cur - prevv) / prev"
            ),
            "'prevv' is not one of its input metrics",
        ),
        (
            lambda data: metric_of(data, "activity_wow")["type_params"]["metrics"][1].update(
                offset_to_grain="month"
            ),
            "offset_to_grain is not supported",
        ),
        (
            lambda data: next(
                m for s in data["semantic_models"] for m in s["measures"] if m["name"] == "busiest"
            ).update(agg="median"),
            "aggregation 'median' is not supported",
        ),
        (
            lambda data: metric_of(data, "users")["type_params"]["measure"].update(
                name="active_user"
            ),
            "unknown measure 'active_user' (did you mean 'active_users'?)",
        ),
    ],
)
def test_what_cannot_compile_is_refused_by_name(manifest_json: dict, edit, message: str) -> None:
    broken = edited(manifest_json, edit)
    names = [m["name"] for m in SPEC["metrics"]]
    with pytest.raises(SemanticError) as raised:
        for name in names:
            check_metric(broken, name)
    assert message in str(raised.value)
    assert "SELECT" not in str(raised.value)


def test_unknown_metric_names_the_nearest(view: ManifestView) -> None:
    with pytest.raises(SemanticError, match=r"Unknown metric: user_7d \(did you mean 'users_7d'"):
        compile_metric(view, "user_7d", "device", "daily", "duckdb")


def test_positional_markers_bind_in_text_order(view: ManifestView) -> None:
    """Trino's ``?`` markers bind in the order of the tree; that is the order the named
    markers appear in the same query's text (CTEs included)."""
    import re

    for spec in SPEC["metrics"]:
        for entity in ("user", "client"):
            named = compile_metric(view, spec["name"], entity, "weekly", "duckdb")
            positional = compile_metric(view, spec["name"], entity, "weekly", "trino")
            assert positional.sql.count("?") == len(positional.parameter_order)
            assert tuple(re.findall(r"\$(\w+)", named.sql)) == positional.parameter_order
