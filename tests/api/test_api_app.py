"""Fast in-process cases (Flask test client) over the real catalogue and warehouse, and logs."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_DEVICE, EXAMPLE_USER, activity_path, assert_error

from api import create_app
from api.logs import JsonFormatter
from daybook.config import project_dir

PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}


class BrokenReader:
    """A warehouse that fails mid-request the way a dropped connection would."""

    dialect = "duckdb"

    def fetch_all(self, sql, parameters):
        raise RuntimeError("connection lost while running: select secret_column from dim_users")

    def data_version(self):
        return None

    def close(self):
        pass


def _get(client, path, token, params):
    return client.get(path, query_string=params, headers={"Authorization": f"Bearer {token}"})


def test_an_unexpected_failure_is_a_json_500_with_a_request_id_and_no_detail(
    api, make_client, caplog
):
    client = make_client(reader=BrokenReader())
    response = _get(
        client, activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), PARAMS
    )
    assert response.status_code == 500
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "internal_error"
    request_id = response.headers["X-Request-ID"]
    assert error["details"] == {"request_id": request_id}
    assert request_id in error["message"]
    body = response.get_data(as_text=True)
    assert "secret_column" not in body and "Traceback" not in body and "select" not in body


def test_the_500_detail_goes_to_the_log(api, make_client):
    client = make_client(reader=BrokenReader())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("daybook.api")
    logger.addHandler(handler)
    try:
        _get(client, activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), PARAMS)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [line for line in lines if line.get("event") == "error"]
    assert errors and "secret_column" in errors[0]["exception"]
    assert errors[0]["request_id"] == next(
        line["request_id"] for line in lines if line.get("event") == "request"
    )


def test_readyz_is_503_json_when_the_warehouse_is_unreachable(api, make_client):
    client = make_client(reader=BrokenReader())
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "not_ready"


def test_readyz_is_200_over_the_real_warehouse(served):
    response = served.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize("limit", [7, 30])
def test_the_range_limit_is_configuration(api, make_client, limit):
    client = make_client(max_range_days=limit)
    path = activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE)
    ok = {**PARAMS, "start_date": "2026-01-01", "end_date": f"2026-01-{limit:02d}"}
    too_long = {**ok, "end_date": f"2026-01-{limit + 1:02d}"}
    assert _get(client, path, api.token(), ok).status_code == 200
    response = _get(client, path, api.token(), too_long)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"Date range cannot exceed {limit} days"


def test_the_range_limit_is_read_from_the_environment(api, make_client, monkeypatch):
    monkeypatch.setenv("DAYBOOK_MAX_RANGE_DAYS", "3")
    client = make_client()
    response = _get(
        client,
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        api.token(),
        {**PARAMS, "end_date": "2026-01-04"},
    )
    assert response.get_json()["error"]["message"] == "Date range cannot exceed 3 days"


def _semantic_copy(tmp_path: Path, *metric_files: str) -> Path:
    source = project_dir() / "semantic"
    folder = tmp_path / "semantic"
    (folder / "metrics").mkdir(parents=True)
    shutil.copy(source / "entities.yml", folder / "entities.yml")
    shutil.copy(source / "semantic_models.yml", folder / "semantic_models.yml")
    for name in metric_files:
        shutil.copy(source / "metrics" / name, folder / "metrics" / name)
    return folder


def test_with_the_contract_metrics_the_documented_message_is_exact(api, make_client, tmp_path):
    client = make_client(semantic_dir=_semantic_copy(tmp_path, "core.yml"))
    response = _get(
        client,
        activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE),
        api.token(),
        {**PARAMS, "metric": "invalid-metric"},
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": {
            "code": "invalid_parameter",
            "message": "Unknown metric: invalid-metric. Valid values: activity-count, user-count",
            "details": {"metric": "invalid-metric"},
        }
    }


def test_a_metric_added_as_yaml_alone_appears_in_the_document_and_is_served(
    api, make_client, tmp_path
):
    folder = _semantic_copy(tmp_path, "core.yml")
    (folder / "metrics" / "heartbeats.yml").write_text(
        "metrics:\n"
        "  - name: heartbeat_total\n"
        "    label: Heartbeats\n"
        "    description: Sum of heartbeats received.\n"
        "    type: simple\n"
        "    type_params: {measure: heartbeats}\n"
    )
    client = make_client(semantic_dir=folder)
    document = client.get("/v2/openapi.json").get_json()
    path = "/v2/clients/{client_id}/analytics/users/{user_id}/activity"
    enum = next(
        p["schema"]["enum"]
        for p in document["paths"][path]["get"]["parameters"]
        if p["name"] == "metric"
    )
    assert enum == ["activity-count", "heartbeat-total"]
    response = _get(
        client,
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        api.token(),
        {**PARAMS, "metric": "heartbeat-total"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = {}
    for (client_id, day, user, _device), values in api.reference.activity.items():
        if client_id == EXAMPLE_CLIENT and user == EXAMPLE_USER:
            expected[day.isoformat()] = expected.get(day.isoformat(), 0) + values["heartbeat_count"]
    body = response.get_json()
    assert body["label"] == "Heartbeats"
    assert {p["date"]: p["value"] for p in body["data"]} == {
        p["date"]: expected.get(p["date"], 0) for p in body["data"]
    }


def test_one_json_log_line_per_request_without_the_token(served):
    token = served.token()
    request_id = "test-log-line-0001"
    response = served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        token,
        params=PARAMS,
        headers={"X-Request-ID": request_id},
    )
    assert response.headers["X-Request-ID"] == request_id
    lines = [line for line in served.log_lines() if line.get("request_id") == request_id]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET"
    assert line["path"] == activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], float | int) and line["latency_ms"] >= 0
    assert line["client_id"] == EXAMPLE_CLIENT
    assert token not in served.log_path.read_text()
    assert token.split("_", 2)[2] not in served.log_path.read_text()


def test_a_401_is_logged_too(served):
    request_id = "test-log-line-0401"
    served.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        "dbk_x",
        headers={"X-Request-ID": request_id},
    )
    lines = [line for line in served.log_lines() if line.get("request_id") == request_id]
    assert [line["status"] for line in lines] == [401]


def test_error_bodies_keep_the_documented_key_order(api):
    response = api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER))
    error = assert_error(response, 401, "authentication_required")
    assert list(error) == ["code", "message", "details"]


def test_on_duckdb_the_api_reads_the_published_snapshot(apps, tmp_path):
    """With a snapshot published (``daybook refresh``), the build file is never opened."""
    from api.duckdb_reader import DuckDBReader
    from daybook.config import parse_database_url
    from daybook.serving import publish_snapshot

    sample = apps["duckdb"]
    copy = tmp_path / "snap.duckdb"
    shutil.copyfile(sample.warehouse.duckdb_path, copy)
    warehouse = parse_database_url(f"duckdb://{copy}")
    publish_snapshot(warehouse)
    copy.rename(tmp_path / "moved-away.duckdb")  # answers can only come from the snapshot now
    app = create_app({"warehouse": warehouse, "http_caching": False})
    try:
        reader = app.extensions["daybook"].reader
        assert isinstance(reader, DuckDBReader)
        token = app.extensions["daybook"].tokens.create(None)[1]
        client = app.test_client()
        params = {**PARAMS, "granularity": "weekly"}
        response = _get(client, activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), token, params)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert reader.serving_snapshots
        expected = sample.get(
            activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), sample.token(), params=params
        )
        assert response.get_json() == expected.json()
    finally:
        app.extensions["daybook"].reader.close()


def test_daybook_serve_on_duckdb_leaves_the_build_file_free_for_builds(served_apps):
    """The served workers read a published snapshot, so a writer can open the build file."""
    import subprocess
    import sys

    served = served_apps["duckdb"]
    assert (served.warehouse.state_dir / "serving" / "CURRENT.json").exists()
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('select 1').fetchall()",
            str(served.warehouse.duckdb_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stderr
    assert "from DuckDB snapshot" in served.log_path.read_text()
