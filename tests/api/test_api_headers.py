"""Security headers on the served API: nosniff everywhere, CSP on the docs pages, private
directory answers, and JSON (never Werkzeug's HTML) for ``/v2`` and redirects."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_DEVICE, EXAMPLE_USER, activity_path

PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}
TOP = {"start_date": "2026-01-01", "end_date": "2026-01-15"}
DOCS_PAGES = ("/v2/docs", "/v2/", "/v2/swagger", "/v2/oauth2-redirect.html")
DIRECTORY = (
    ("/v2/clients", {}),
    (f"/v2/clients/{EXAMPLE_CLIENT}/users", {}),
    (f"/v2/clients/{EXAMPLE_CLIENT}/devices", {}),
    (f"/v2/clients/{EXAMPLE_CLIENT}/analytics/top-users", TOP),
    (f"/v2/clients/{EXAMPLE_CLIENT}/analytics/top-devices", TOP),
)


def _inline_script_hashes(html: str) -> set[str]:
    """The page's inline scripts and event handler attributes, each allowed by its hash (a
    handler attribute also needs 'unsafe-hashes', or a browser runs none)."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    handlers = [
        unescape(double or single)
        for double, single in re.findall(r"""\son\w+=(?:"([^"]*)"|'([^']*)')""", html)
    ]
    allowed = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts + handlers
    }
    return allowed | ({"'unsafe-hashes'"} if handlers else set())


def test_every_kind_of_answer_carries_nosniff(api):
    token = api.token()
    answers = [
        api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), token, PARAMS),  # 200
        api.get(activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE), None, PARAMS),  # 401
        api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), token, {}),  # 400
        api.get("/v2/nowhere"),  # 404
        api.request("POST", "/healthz"),  # 405
        api.get("/healthz"),
        api.get("/v2/openapi.json"),
        api.get("/v2/swagger/css/swagger-ui.css"),
        api.get("/"),
        api.get("/v2"),
        *(api.get(page) for page in DOCS_PAGES),
    ]
    for response in answers:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.url


@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_pages_have_a_content_security_policy_allowing_only_their_own_scripts(api, page):
    response = api.get(page)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    allowed_scripts = set(policy["script-src"].split())
    assert "'unsafe-inline'" not in allowed_scripts and "*" not in allowed_scripts
    assert allowed_scripts == {"'self'", *_inline_script_hashes(response.text)}


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_pages_policy_is_the_chart_pages_plus_their_script_hashes(api, page):
    """One policy for every HTML page: the docs pages only add their inline scripts' hashes."""
    chart = _directives(api.get("/").headers["Content-Security-Policy"])
    docs_page = api.get(page)
    docs = _directives(docs_page.headers["Content-Security-Policy"])
    hashes = set(_inline_script_hashes(docs_page.text))
    assert set(docs["script-src"].split()) == set(chart["script-src"].split()) | hashes
    del docs["script-src"], chart["script-src"]
    assert docs == chart
    assert chart["object-src"] == "'none'"


@pytest.mark.parametrize(("path", "params"), DIRECTORY)
def test_directory_answers_are_private(api, path, params):
    token = api.token()
    ok = api.get(path, token, params)
    assert ok.status_code == 200
    cache_control = ok.headers["Cache-Control"]
    assert "private" in cache_control or "no-store" in cache_control
    denied = api.get(path, "dbk_wrong", params)
    assert denied.status_code == 401
    assert "no-store" in denied.headers["Cache-Control"]


def test_activity_errors_are_not_stored_by_caches(api):
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), {"metric": "x"}
    )
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"


def test_get_v2_answers_a_json_index(api):
    response = api.get("/v2", allow_redirects=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["openapi"] == "/v2/openapi.json" and body["docs"] == "/v2/docs"


@pytest.mark.parametrize(
    "path", ["/v2//metrics", "//v2/metrics", "/v2/clients//users", "/v2//", "/healthz/"]
)
def test_no_answer_is_werkzeugs_html_page(served, path):
    # a Host header of the client's choosing: a redirect must not send anyone there
    response = served.get(path, allow_redirects=False, headers={"Host": "evil.example"})
    assert response.headers["Content-Type"] == "application/json", response.text
    assert "<html" not in response.text.lower()
    if response.status_code in (301, 302, 307, 308):
        location = response.headers["Location"]
        assert response.json()["redirect"]["location"] == location
        assert location.startswith("/") and not location.startswith("//"), location
        assert "evil.example" not in location
