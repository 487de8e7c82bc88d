"""No token or secret reaches a log line, wherever in the request it was sent."""

from __future__ import annotations

import io
import json
import logging

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_USER, activity_path

from api.logs import JsonFormatter, scrub

PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}
PASSWORD = "Sekr1t-Passw0rd-for-logs"


def _requests_carrying(token: str) -> list[tuple[str, dict, dict]]:
    """(path, query, headers) triples each carrying ``token`` or ``PASSWORD`` somewhere."""
    path = activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)
    bearer = {"Authorization": f"Bearer {token}"}
    return [
        (path, {**PARAMS, "access_token": token}, {}),
        (path, {**PARAMS, "token": token, "api_key": token}, bearer),
        (path, {**PARAMS, "password": PASSWORD, "secret": PASSWORD}, bearer),
        (path, {**PARAMS, token: "1"}, bearer),  # the token as a parameter name
        (path, {**PARAMS, "metric": token}, bearer),  # as an allow-listed value
        (path, {**PARAMS, "search": f"Bearer {token}"}, bearer),
        (path, PARAMS, {"Authorization": f"Bearer {token}x"}),  # a wrong token (401)
        (path, PARAMS, {"Authorization": f"Basic {PASSWORD}"}),
        (path, PARAMS, {"X-Api-Key": token, "Cookie": f"session={token}"}),
        (f"/v2/clients/{token}/users", {}, bearer),  # in the path
        (f"/v2/{token}", {}, {}),  # an unknown path (404)
        (f"/v2/clients/{EXAMPLE_CLIENT}/analytics/users/{token}/activity", PARAMS, bearer),
        (f"/v2/clients/{EXAMPLE_CLIENT}/users", {"search": token, "limit": token}, bearer),
    ]


def _secrets(token: str) -> list[str]:
    return [token, token.split("_", 2)[2], PASSWORD]


def test_the_served_log_holds_no_secret(served):
    token = served.token()
    before = len(served.log_path.read_text(encoding="utf-8"))
    for path, params, headers in _requests_carrying(token):
        response = served.get(path, params=params, headers=headers)
        assert response.status_code < 500, response.text
    written = served.log_path.read_text(encoding="utf-8")[before:]
    lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert len([line for line in lines if line.get("event") == "request"]) >= 13
    for secret in _secrets(token):
        assert secret not in written
    # what stays useful: the allow-listed parameters, and how many others were hidden
    first = next(line for line in lines if line.get("event") == "request")
    assert first["query"] == {**PARAMS, "[redacted]": 1}


class _FailingReader:
    """A warehouse whose error message carries a connection URL's password and a token."""

    dialect = "duckdb"

    def __init__(self, token: str) -> None:
        self.token = token

    def fetch_all(self, sql, parameters):
        raise RuntimeError(
            f"could not connect to postgresql://daybook:{PASSWORD}@db:5432/wh "
            f"while checking {self.token} (Authorization: Bearer {self.token})"
        )

    def data_version(self):
        return None

    def close(self):
        pass


@pytest.fixture
def captured():
    """Everything any logger writes during the test, through the API's formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(), logging.getLogger("daybook.api")]
    previous = [(lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for lg, level in zip(loggers, previous, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def test_error_details_and_tracebacks_in_the_log_hold_no_secret(api, make_client, captured):
    token = api.token()
    client = make_client(reader=_FailingReader(token), rate_limit_per_token="1 per minute")
    for path, params, headers in _requests_carrying(token):
        client.get(path, query_string=params, headers=headers)
    client.get("/readyz")  # logs the driver error's repr
    written = captured.getvalue()
    assert '"event": "error"' in written and "Traceback" in written  # the detail is there
    assert '"status": 429' in written  # the rate limiter's path was taken too
    for secret in _secrets(token):
        assert secret not in written


@pytest.mark.parametrize(
    "text",
    [
        "dbk_0123456789ab_" + "A" * 43,
        "dbk_0123456789ab_" + "A" * 20,  # cut short
        "Bearer abc.def-ghi",
        "bearer%20abc.def-ghi",
        "postgresql://user:abc.def-ghi@host/db",
    ],
)
def test_scrub_removes_each_secret_shape(text):
    cleaned = scrub(f"before {text} after")
    assert "AAAAAAAAAAAAAAAAAAAA" not in cleaned and "abc.def-ghi" not in cleaned
    assert cleaned.startswith("before ") and cleaned.endswith(" after")
