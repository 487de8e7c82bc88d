"""HTTP caching headers: ETag from the body, 304 on If-None-Match, Last-Modified from the path's
client's freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify
from werkzeug.http import http_date

from daybook.serving import install_http_caching

NEWEST = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    state = {"value": 42}

    @app.get("/v2/clients/<client_id>/analytics/users/<user_id>/activity")
    def activity(client_id: str, user_id: str):
        return jsonify({"data": [{"date": "2026-01-01", "value": state["value"]}]})

    @app.get("/v2/clients/<client_id>/denied")
    def denied(client_id: str):
        return jsonify({"error": {"code": "forbidden"}}), 403

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    app.config["state"] = state
    install_http_caching(app, {"c1": NEWEST}.get, max_age=60)
    return app


URL = "/v2/clients/c1/analytics/users/u1/activity"


def test_answer_carries_etag_last_modified_and_cache_control(app: Flask) -> None:
    response = app.test_client().get(URL)
    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"') and len(response.headers["ETag"]) > 20
    assert response.headers["Last-Modified"] == http_date(NEWEST)
    assert response.headers["Cache-Control"] == "private, max-age=60, must-revalidate"
    assert "Authorization" in response.headers["Vary"]


def test_matching_if_none_match_gives_304_without_a_body(app: Flask) -> None:
    client = app.test_client()
    tag = client.get(URL).headers["ETag"]
    response = client.get(URL, headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag
    weak = client.get(URL, headers={"If-None-Match": f'W/{tag}, "other"'})
    assert weak.status_code == 304


def test_changed_answer_gets_a_new_tag_and_a_full_response(app: Flask) -> None:
    client = app.test_client()
    tag = client.get(URL).headers["ETag"]
    app.config["state"]["value"] = 43
    response = client.get(URL, headers={"If-None-Match": tag})
    assert response.status_code == 200
    assert response.get_json()["data"][0]["value"] == 43
    assert response.headers["ETag"] != tag


def test_last_modified_is_the_paths_clients_own_time(app: Flask) -> None:
    """Each client's answers carry that client's time; a client with none gets no header
    (never another client's time, nor the warehouse's)."""
    client = app.test_client()
    assert client.get(URL).headers["Last-Modified"] == http_date(NEWEST)
    other = client.get("/v2/clients/c2/analytics/users/u1/activity")
    assert other.status_code == 200 and "ETag" in other.headers
    assert "Last-Modified" not in other.headers


def test_if_modified_since_alone_never_gives_304(app: Flask) -> None:
    response = app.test_client().get(URL, headers={"If-Modified-Since": http_date(NEWEST)})
    assert response.status_code == 200


def test_errors_and_other_paths_are_left_alone(app: Flask) -> None:
    client = app.test_client()
    denied = client.get("/v2/clients/c1/denied")
    assert denied.status_code == 403 and "ETag" not in denied.headers
    health = client.get("/healthz")
    assert "ETag" not in health.headers and "Last-Modified" not in health.headers


def test_last_modified_in_the_future_is_clamped_to_now() -> None:
    """A heartbeat received "in the future" never gives a Last-Modified later than Date."""
    from datetime import timedelta

    from werkzeug.http import parse_date

    future = datetime.now(UTC) + timedelta(days=3)
    app = Flask(__name__)

    @app.get("/v2/clients/<client_id>/users")
    def users(client_id: str):
        return jsonify({"data": []})

    install_http_caching(app, lambda client_id: future)
    client = app.test_client()
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.get("/v2/clients/c1/users")
    after = datetime.now(UTC)
    assert before <= parse_date(response.headers["Last-Modified"]) <= after
    # naive UTC values (as DuckDB returns them) are compared as UTC too
    naive = Flask(__name__)
    naive.add_url_rule("/v2/clients/<client_id>/users", view_func=users)
    install_http_caching(naive, lambda client_id: future.replace(tzinfo=None))
    clamped = parse_date(naive.test_client().get("/v2/clients/c1/users").headers["Last-Modified"])
    assert clamped <= datetime.now(UTC)
    # the ETag still decides 304
    tag = response.headers["ETag"]
    assert client.get("/v2/clients/c1/users", headers={"If-None-Match": tag}).status_code == 304
