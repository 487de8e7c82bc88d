"""The client-wide series, ``GET /v2/clients/{client_id}/analytics/activity`` (issue 16):
answers equal the plain-Python reference (``reference.client_series``) on both backends,
with the errors, their order and the caching of the per-entity endpoints. Which metrics it
accepts is read here straight from the YAML (a metric whose semantic model has the
``client`` entity), not from the code under test."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from reference import GRANULARITIES, bucket_start
from served_api import DATA_START, EXAMPLE_CLIENT, activity_path, assert_error, expected_body
from support import SHIPPED_SEMANTIC_DIR

UNKNOWN_CLIENT = "3f1c2a4e-0000-4000-8000-0000000000ff"
# activity-count (a sum) and user-count (distinct users: DAU, WAU, MAU, not a sum of days)
METRICS = ("activity-count", "user-count")


def client_metrics(folder: Path) -> list[str]:
    """API names of the metrics the YAML serves client-wide, in file and YAML order."""
    documents = [
        yaml.safe_load(path.read_text()) or {}
        for path in sorted(folder.rglob("*.yml"), key=lambda p: p.relative_to(folder).as_posix())
    ]
    with_client = {
        measure["name"]
        for document in documents
        for model in document.get("semantic_models", [])
        if any(entity["name"] == "client" for entity in model["entities"])
        for measure in model.get("measures", [])
    }
    metrics = [metric for document in documents for metric in document.get("metrics", [])]
    by_name = {metric["name"]: metric for metric in metrics}

    def measures(metric: dict) -> list[str]:
        """The measures a metric reads, through ratio and derived inputs (issue 16)."""
        params = metric["type_params"]
        if "measure" in params:
            measure = params["measure"]
            return [measure if isinstance(measure, str) else measure["name"]]
        inputs = [params.get("numerator"), params.get("denominator"), *params.get("metrics", [])]
        names = [item if isinstance(item, str) else item["name"] for item in inputs if item]
        return [found for name in names for found in measures(by_name[name])]

    return [
        metric["name"].replace("_", "-")
        for metric in metrics
        if all(measure in with_client for measure in measures(metric))
    ]


def _params(metric: str, start: date, end: date, granularity: str | None = None) -> dict:
    params = {"metric": metric, "start_date": start.isoformat(), "end_date": end.isoformat()}
    if granularity is not None:
        params["granularity"] = granularity
    return params


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_the_client_series_equals_the_reference(api, metric, granularity):
    start = DATA_START + timedelta(days=3)  # not on a week's, month's or quarter's first day
    end = start + timedelta(days=89)
    path = activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT)
    response = api.get(
        path, api.token(EXAMPLE_CLIENT), params=_params(metric, start, end, granularity)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = expected_body(
        api, "client", EXAMPLE_CLIENT, EXAMPLE_CLIENT, metric, start, end, granularity
    )
    assert body == expected
    assert any(point["value"] > 0 for point in body["data"]), "the example client has activity"
    assert all(type(point["value"]) is int for point in body["data"])


def test_random_clients_and_ranges_equal_the_reference(api, rng):
    names = client_metrics(SHIPPED_SEMANTIC_DIR)
    token = api.token()
    clients = sorted({key[0] for key in api.reference.activity})
    for _ in range(12):
        client = rng.choice(clients)
        metric, granularity = rng.choice(names), rng.choice(GRANULARITIES)
        start = DATA_START + timedelta(days=rng.randint(-20, 181))
        end = start + timedelta(days=rng.randint(0, 89))
        response = api.get(
            activity_path(client, "client", client),
            token,
            params=_params(metric, start, end, granularity),
        )
        assert response.status_code == 200, response.text
        assert response.json() == expected_body(
            api, "client", client, client, metric, start, end, granularity
        ), (client, metric, granularity, start, end)


def test_a_weekly_distinct_count_is_not_a_sum_of_days(api):
    """Weekly user-count is the client's distinct users in the week (WAU)."""
    start = DATA_START + timedelta(days=7 - DATA_START.weekday())  # a Monday
    end = start + timedelta(days=6)
    path = activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT)
    token = api.token(EXAMPLE_CLIENT)
    weekly = api.get(path, token, params=_params("user-count", start, end, "weekly")).json()
    daily = api.get(path, token, params=_params("user-count", start, end, "daily")).json()
    users = {
        key[2]
        for key in api.reference.activity
        if key[0] == EXAMPLE_CLIENT and start <= key[1] <= end
    }
    assert [point["value"] for point in weekly["data"]] == [len(users)]
    assert len(users) <= sum(point["value"] for point in daily["data"])


def test_errors_come_in_the_contract_order(api):
    path = activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT)
    good = _params("activity-count", DATA_START, DATA_START + timedelta(days=6))
    other = api.token(api.other_client(EXAMPLE_CLIENT))
    # 401 first: no token, or an unknown one, even with bad parameters
    assert_error(api.get(path, None, params=good), 401, "authentication_required")
    assert_error(api.get(path, "dbk_nope", params={"metric": "x"}), 401, "authentication_required")
    # 400 before 403: a bad parameter with a token not granted this client
    error = assert_error(
        api.get(path, other, params={**good, "metric": "nope"}), 400, "invalid_parameter"
    )
    names = client_metrics(SHIPPED_SEMANTIC_DIR)
    assert error["message"] == f"Unknown metric: nope. Valid values: {', '.join(names)}"
    assert error["details"] == {"metric": "nope"}
    bad_id = api.get("/v2/clients/not-a-uuid/analytics/activity", api.token(), params=good)
    assert_error(bad_id, 400, "invalid_parameter")
    too_long = {**good, "end_date": (DATA_START + timedelta(days=90)).isoformat()}
    error = assert_error(api.get(path, api.token(), params=too_long), 400, "invalid_parameter")
    assert error["message"] == "Date range cannot exceed 90 days"
    weird = assert_error(
        api.get(path, api.token(), params={**good, "granularity": "hourly"}),
        400,
        "invalid_parameter",
    )
    assert weird["details"] == {"granularity": "hourly"}
    # 403 before 404: a token for another client, for a client that does not exist
    unknown = activity_path(UNKNOWN_CLIENT, "client", UNKNOWN_CLIENT)
    assert_error(api.get(path, other, params=good), 403, "forbidden")
    assert_error(api.get(unknown, other, params=good), 403, "forbidden")
    error = assert_error(api.get(unknown, api.token(), params=good), 404, "not_found")
    assert error["details"] == {"client_id": UNKNOWN_CLIENT}


def test_answers_are_cached_and_revalidated_like_the_other_endpoints(api):
    path = activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT)
    params = _params("activity-count", DATA_START, DATA_START + timedelta(days=30), "weekly")
    token = api.token(EXAMPLE_CLIENT)
    first = api.get(path, token, params=params)
    again = api.get(path, token, params=params)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert "ETag" in first.headers and "private" in first.headers["Cache-Control"]
    unchanged = api.get(
        path, token, params=params, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert unchanged.status_code == 304


USER_ONLY = """
semantic_models:
  - name: user_only
    model: ref('fct_activity_daily')
    primary_entity: user_only_row
    defaults: {agg_time_dimension: activity_date}
    entities:
      - {name: user, type: foreign, expr: user_id}
    dimensions:
      - {name: activity_date, type: time, type_params: {time_granularity: day}}
    measures:
      - {name: user_only_heartbeats, agg: sum, expr: heartbeat_count}
metrics:
  - name: user_heartbeats
    label: User Heartbeats
    description: Heartbeats, per user only.
    type: simple
    type_params: {measure: user_only_heartbeats}
"""


def test_a_metric_whose_semantic_model_lacks_the_client_entity_is_refused_there(
    api, make_client, tmp_path
):
    """Added as YAML alone: served per user (its semantic model's one entity), refused
    client-wide with the client endpoint's own list, which it is not in."""
    import shutil

    folder = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    (folder / "user_only.yml").write_text(textwrap.dedent(USER_ONLY))
    client = make_client(semantic_dir=folder)
    token = {"Authorization": f"Bearer {api.token()}"}
    params = _params("user-heartbeats", DATA_START, DATA_START + timedelta(days=6))
    path = activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT)
    refused = client.get(path, query_string=params, headers=token)
    assert refused.status_code == 400
    names = client_metrics(folder)
    assert "user-heartbeats" not in names
    assert refused.get_json()["error"]["message"] == (
        f"Unknown metric: user-heartbeats. Valid values: {', '.join(names)}"
    )
    user_id = next(key[2] for key in api.reference.activity if key[0] == EXAMPLE_CLIENT)
    served = client.get(
        activity_path(EXAMPLE_CLIENT, "user", user_id), query_string=params, headers=token
    )
    assert served.status_code == 200, served.get_data(as_text=True)
    document = client.get("/v2/openapi.json").get_json()
    operation = document["paths"]["/v2/clients/{client_id}/analytics/activity"]["get"]
    (metric,) = [p for p in operation["parameters"] if p["name"] == "metric"]
    assert metric["schema"]["enum"] == names
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["client_id"]


RATIO = """
metrics:
  - name: chrome_part_of_activity
    label: Chrome Part (test)
    description: Chrome's share of all activity in the bucket.
    type: ratio
    type_params:
      numerator: chrome_activity
      denominator: activity_count
"""


@pytest.mark.parametrize("granularity", ["daily", "weekly"])
def test_a_ratio_added_as_yaml_is_a_number_or_null_client_wide(
    api, make_client, tmp_path, granularity
):
    """A ratio metric in dbt's spec, added as YAML alone, served client-wide: each bucket's
    value is its Chrome activity over its total activity (a JSON number), and null where
    the client had no activity (the denominator is absent)."""
    import shutil

    folder = tmp_path / "semantic"
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    (folder / "ratio.yml").write_text(textwrap.dedent(RATIO))
    client = make_client(semantic_dir=folder)
    start = DATA_START - timedelta(days=10)  # days before any activity: no value
    end = start + timedelta(days=40)
    response = client.get(
        activity_path(EXAMPLE_CLIENT, "client", EXAMPLE_CLIENT),
        query_string=_params("chrome-part-of-activity", start, end, granularity),
        headers={"Authorization": f"Bearer {api.token()}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["label"] == "Chrome Part (test)"
    sums: dict[str, list[int]] = {}
    for (client_id, day, _user, _device), values in api.reference.activity.items():
        if client_id == EXAMPLE_CLIENT and start <= day <= end:
            bucket = bucket_start(day, granularity).isoformat()
            chrome, total = sums.setdefault(bucket, [0, 0])
            sums[bucket] = [
                chrome + values["chrome_activity_count"],
                total + values["total_activity_count"],
            ]
    seen = {"number": 0, "null": 0}
    for point in body["data"]:
        chrome, total = sums.get(point["date"], (0, 0))
        if total == 0:
            assert point["value"] is None, point
            seen["null"] += 1
        else:
            assert isinstance(point["value"], float | int), point
            assert point["value"] == pytest.approx(chrome / total, rel=1e-9), point
            seen["number"] += 1
    assert seen["null"] and seen["number"], seen
