"""Every row of the contract's error table, the order of its checks, and hostile input.

Through Flask's test client over the real warehouse (``api``), on both backends; what only
the real server answers (HTTP it cannot parse) through ``served``.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import pytest
from served_api import (
    EXAMPLE_CLIENT,
    EXAMPLE_DEVICE,
    EXAMPLE_USER,
    activity_path,
    assert_error,
)

from daybook.semantic import load_catalog

ENTITIES = {"user": EXAMPLE_USER, "device": EXAMPLE_DEVICE}
GOOD = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}
UNKNOWN_CLIENT = "00000000-0000-4000-8000-000000000000"
UNKNOWN_ENTITY = "00000000-0000-4000-8000-000000000001"
INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE dim_users; --",
    "activity-count' --",
    "2026-01-01' OR 1=1 --",
    '"; select pg_sleep(5); --',
    "aa7cf840-9ca9-46a3-9778-9015d6580d50' OR 'x'='x",
    "$1",
    "%s",
    "?",
    "\\x00",
    "\x00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
]


def metric_names(entity: str) -> list[str]:
    return [metric.name for metric in load_catalog().metrics_for(entity)]


# --- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-daybook-token",
        "Bearer dbk_000000000000_" + "A" * 43,  # well formed, never issued
        "Token dbk_000000000000_" + "A" * 43,
    ],
)
def test_missing_malformed_or_unknown_tokens_are_401_with_a_bearer_challenge(
    api, entity, authorization
):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), params=GOOD, headers=headers
    )
    assert_error(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_for_another_warehouse_is_401(api):
    """A token that was issued (it is well formed) but whose hash does not match is refused."""
    real = api.token()
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    response = api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), forged, params=GOOD)
    assert_error(response, 401, "authentication_required")


# --- 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("missing", ["metric", "start_date", "end_date"])
def test_a_missing_required_parameter_is_400_naming_it(api, entity, missing):
    params = {key: value for key, value in GOOD.items() if key != missing}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert missing in error["message"]
    assert missing in error["details"]


@pytest.mark.parametrize(
    "field,value",
    [
        ("start_date", "2026-1-1"),
        ("start_date", "20260101"),
        ("start_date", "2026-02-30"),
        ("start_date", "2026-01-01T00:00:00"),
        ("start_date", "2026-W01-1"),
        ("start_date", "yesterday"),
        ("end_date", "15/01/2026"),
        ("end_date", ""),
        ("end_date", "2026-13-01"),
        ("end_date", "\u0661\u0662\u0663\u0664-01-01"),  # non-ASCII digits
        ("start_date", "2026-01-01\n"),  # `$` alone would let the newline through
    ],
)
def test_malformed_dates_are_400_naming_the_value(api, field, value):
    params = {**GOOD, field: value}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["details"] == {field: value}
    assert field in error["message"]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("which", ["client", "entity"])
@pytest.mark.parametrize(
    "bad_id",
    [
        "not-a-uuid",
        "aa7cf8409ca946a397789015d6580d50",  # no hyphens
        "{aa7cf840-9ca9-46a3-9778-9015d6580d50}",
        "aa7cf840-9ca9-46a3-9778-9015d6580d5",  # one digit short
        "12345",
        "aa7cf840-9ca9-46a3-9778-9015d6580d50\n",  # `%0A`: `$` alone would let it through
    ],
)
def test_malformed_path_ids_are_400(api, entity, which, bad_id):
    client = bad_id if which == "client" else EXAMPLE_CLIENT
    entity_id = bad_id if which == "entity" else ENTITIES[entity]
    response = api.get(
        activity_path(quote(client, safe=""), entity, quote(entity_id, safe="")),
        api.token(),
        params=GOOD,
    )
    error = assert_error(response, 400, "invalid_parameter")
    name = "client_id" if which == "client" else f"{entity}_id"
    assert error["details"] == {name: bad_id}


def test_start_after_end_is_400(api):
    params = {**GOOD, "start_date": "2026-01-15", "end_date": "2026-01-14"}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["details"] == {"start_date": "2026-01-15", "end_date": "2026-01-14"}


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize(
    "start,end",
    [("2026-01-01", "2026-04-01"), ("2026-01-01", "2026-06-01"), ("2025-01-01", "2026-01-01")],
)
def test_a_range_over_90_days_is_400_with_the_documented_message(api, entity, start, end):
    params = {**GOOD, "start_date": start, "end_date": end}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["message"] == "Date range cannot exceed 90 days"
    assert error["details"] == {"start_date": start, "end_date": end}


def test_exactly_90_days_counted_inclusively_is_allowed(api):
    params = {**GOOD, "start_date": "2026-01-01", "end_date": "2026-03-31"}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 90


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("metric", ["invalid-metric", "ACTIVITY-COUNT", "activity_count", ""])
def test_an_unknown_metric_is_400_listing_that_endpoints_metrics(api, entity, metric):
    params = {**GOOD, "metric": metric}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    valid = ", ".join(metric_names(entity))
    assert error["message"] == f"Unknown metric: {metric}. Valid values: {valid}"
    assert error["details"] == {"metric": metric}


def test_a_device_only_metric_is_unknown_on_the_user_endpoint(api):
    assert "user-count" not in metric_names("user")
    params = {**GOOD, "metric": "user-count"}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["message"].startswith("Unknown metric: user-count. Valid values: activity-count")


@pytest.mark.parametrize("granularity", ["hourly", "Daily", "week", ""])
def test_an_unknown_granularity_is_400(api, granularity):
    params = {**GOOD, "granularity": granularity}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["message"] == (
        f"Unknown granularity: {granularity}. Valid values: daily, weekly, monthly, quarterly"
    )
    assert error["details"] == {"granularity": granularity}


def test_several_bad_parameters_are_all_named(api):
    params = {"metric": "nope", "start_date": "x", "granularity": "hourly"}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["details"] == {
        "metric": "nope",
        "start_date": "x",
        "end_date": None,
        "granularity": "hourly",
    }


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("name", ["metric", "start_date", "end_date", "granularity"])
def test_a_repeated_parameter_is_400_naming_it_not_answered_for_one_value(api, entity, name):
    """``?metric=a&metric=b`` is not an answer for ``a``: the client meant something else."""
    values = {**GOOD, "granularity": "daily"}
    second = {"metric": "activity-count", "granularity": "weekly"}.get(name, "2026-01-10")
    query = [*values.items(), (name, second)]
    response = api.get(activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), api.token(), query)
    error = assert_error(response, 400, "invalid_parameter")
    assert error["message"] == f"Invalid {name}: given 2 times; give it once"
    assert error["details"] == {name: [values[name], second]}


def test_every_repeated_parameter_is_named(api):
    query = [*GOOD.items(), ("metric", "user-count"), ("end_date", "2026-01-02")]
    response = api.get(activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE), api.token(), query)
    error = assert_error(response, 400, "invalid_parameter")
    assert error["message"] == (
        "Invalid metric: given 2 times; give it once; Invalid end_date: given 2 times; give it once"
    )
    assert error["details"] == {
        "metric": [GOOD["metric"], "user-count"],
        "end_date": [GOOD["end_date"], "2026-01-02"],
    }


def test_a_repeated_unknown_parameter_is_ignored_like_any_unknown_one(api):
    query = [*GOOD.items(), ("utm", "a"), ("utm", "b")]
    response = api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), query)
    assert response.status_code == 200, response.text


# --- 403 and 404: tenant isolation -------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_token_not_granted_the_client_is_403_whether_or_not_it_exists(api, entity):
    other = api.other_client(EXAMPLE_CLIENT)
    token = api.token(other)
    existing = api.get(activity_path(EXAMPLE_CLIENT, entity, ENTITIES[entity]), token, params=GOOD)
    missing = api.get(activity_path(UNKNOWN_CLIENT, entity, ENTITIES[entity]), token, params=GOOD)
    first = assert_error(existing, 403, "forbidden")
    second = assert_error(missing, 403, "forbidden")
    # Nothing in the answer tells an existing client from a missing one.
    assert first["message"] == second["message"]
    assert set(first["details"]) == set(second["details"]) == {"client_id"}


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_unknown_client_is_404_for_a_token_that_may_see_it(api, entity):
    response = api.get(
        activity_path(UNKNOWN_CLIENT, entity, ENTITIES[entity]), api.token(), params=GOOD
    )
    error = assert_error(response, 404, "not_found")
    assert error["details"] == {"client_id": UNKNOWN_CLIENT}


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_unknown_entity_is_404(api, entity):
    response = api.get(
        activity_path(EXAMPLE_CLIENT, entity, UNKNOWN_ENTITY),
        api.token(EXAMPLE_CLIENT),
        params=GOOD,
    )
    error = assert_error(response, 404, "not_found")
    assert error["details"] == {f"{entity}_id": UNKNOWN_ENTITY}


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_entity_of_another_client_is_404_under_the_asked_client(api, entity):
    other = api.other_client(EXAMPLE_CLIENT)
    foreign = next(
        row[f"{entity}_id"] for row in api.entity_rows(entity) if row["client_id"] == other
    )
    for token in (api.token(EXAMPLE_CLIENT), api.token()):
        response = api.get(activity_path(EXAMPLE_CLIENT, entity, foreign), token, params=GOOD)
        assert_error(response, 404, "not_found")
    # ... while the owner's token under the owning client gets its series.
    owner = api.get(activity_path(other, entity, foreign), api.token(other), params=GOOD)
    assert owner.status_code == 200, owner.text


def test_a_token_for_several_clients_sees_each_of_them(api):
    other = api.other_client(EXAMPLE_CLIENT)
    token = api.token(EXAMPLE_CLIENT, other)
    for client in (EXAMPLE_CLIENT, other):
        user = next(row["user_id"] for row in api.users if row["client_id"] == client)
        response = api.get(activity_path(client, "user", user), token, params=GOOD)
        assert response.status_code == 200, response.text


# --- the order of the checks: 401 > 400 > 403 > 404 --------------------------------------


BAD_PARAMS = {"metric": "invalid-metric", "start_date": "2026-01-01", "end_date": "2026-06-01"}


def test_no_token_and_bad_parameters_is_401(api):
    response = api.get(activity_path("not-a-uuid", "user", EXAMPLE_USER), params=BAD_PARAMS)
    assert_error(response, 401, "authentication_required")


def test_unknown_token_and_forbidden_unknown_client_is_401(api):
    response = api.get(
        activity_path(UNKNOWN_CLIENT, "user", UNKNOWN_ENTITY), "dbk_nope", params=GOOD
    )
    assert_error(response, 401, "authentication_required")


@pytest.mark.parametrize("bad", ["params", "path"])
def test_bad_parameters_for_a_forbidden_client_is_400(api, bad):
    token = api.token(api.other_client(EXAMPLE_CLIENT))
    if bad == "params":
        response = api.get(
            activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), token, params=BAD_PARAMS
        )
    else:
        response = api.get(activity_path(EXAMPLE_CLIENT, "user", "bad-id"), token, params=GOOD)
    assert_error(response, 400, "invalid_parameter")


def test_bad_parameters_for_an_unknown_client_is_400(api):
    response = api.get(
        activity_path(UNKNOWN_CLIENT, "user", UNKNOWN_ENTITY), api.token(), params=BAD_PARAMS
    )
    assert_error(response, 400, "invalid_parameter")


def test_forbidden_and_unknown_entity_is_403(api):
    token = api.token(api.other_client(EXAMPLE_CLIENT))
    response = api.get(activity_path(EXAMPLE_CLIENT, "user", UNKNOWN_ENTITY), token, params=GOOD)
    assert_error(response, 403, "forbidden")


def test_range_over_the_limit_for_an_unknown_user_is_400_not_404(api):
    params = {**GOOD, "end_date": "2026-06-01"}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", UNKNOWN_ENTITY), api.token(), params=params
    )
    assert_error(response, 400, "invalid_parameter")


# --- hostile input -----------------------------------------------------------------------


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["metric", "start_date", "end_date", "granularity"])
def test_sql_injection_in_any_query_parameter_is_400(api, field, value):
    params = {**GOOD, field: value}
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "device", EXAMPLE_DEVICE), api.token(), params=params
    )
    error = assert_error(response, 400, "invalid_parameter")
    assert error["details"][field] == value


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("segment", ["client", "entity"])
def test_sql_injection_in_any_path_segment_is_400(api, segment, value):
    client = quote(value, safe="") if segment == "client" else EXAMPLE_CLIENT
    entity_id = quote(value, safe="") if segment == "entity" else EXAMPLE_USER
    response = api.get(activity_path(client, "user", entity_id), api.token(), params=GOOD)
    error = assert_error(response, 400, "invalid_parameter")
    # an encoded "/" stays in its segment, shown as %2F (api/encoded_slashes.py)
    assert list(error["details"].values()) == [value.replace("/", "%2F")]


SLASHED_IDS = ["a/b", "../../etc/passwd", EXAMPLE_USER[:8] + "/" + EXAMPLE_USER[9:]]


@pytest.mark.parametrize("bad_id", SLASHED_IDS)
@pytest.mark.parametrize("which", ["client", "entity"])
def test_an_id_with_an_encoded_slash_is_a_malformed_id_after_the_token_check(api, which, bad_id):
    """``%2F`` is data inside its segment (RFC 3986): the route still matches, so the id is
    refused as malformed (400 naming it), not routed as two segments (404), and only once
    the token is known (401 first), as for any other bad id."""
    for sent in (quote(bad_id, safe=""), quote(bad_id, safe="").replace("%2F", "%2f")):
        client = sent if which == "client" else EXAMPLE_CLIENT
        entity_id = sent if which == "entity" else EXAMPLE_USER
        path = activity_path(client, "user", entity_id)
        assert_error(api.get(path, params=GOOD), 401, "authentication_required")
        error = assert_error(api.get(path, api.token(), params=GOOD), 400, "invalid_parameter")
        name = "client_id" if which == "client" else "user_id"
        assert error["details"] == {name: bad_id.replace("/", "%2F")}


@pytest.mark.parametrize("path", ["/v2%2Fclients", "/healthz%2F", "/v2/clients%2F"])
def test_an_encoded_slash_does_not_join_two_segments_into_a_route(api, path):
    assert_error(api.get(path, api.token()), 404, "not_found")


def test_injection_attempts_left_the_warehouse_untouched(api):
    # dim_users still answers and the example user still has its series.
    response = api.get(
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=GOOD
    )
    assert response.status_code == 200, response.text


def test_errors_never_carry_sql_or_traces(api):
    bodies = [
        api.get(activity_path(EXAMPLE_CLIENT, "user", value), api.token(), params=GOOD).text
        for value in (quote(INJECTIONS[0], safe=""), "x")
    ]
    for body in bodies:
        lowered = body.lower()
        assert "traceback" not in lowered
        assert "select " not in lowered
        assert "dim_users" not in lowered


# --- every answer is JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/clients", "/v2/clients/x", "/nothing/here", "/v2/openapi.yaml", "/v2/docs/x"]
)
def test_unknown_routes_are_json_404(api, path):
    assert_error(api.get(path, api.token()), 404, "not_found")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_json_405_with_allow(api, method):
    response = api.request(
        method,
        activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER),
        params=GOOD,
        headers={"Authorization": f"Bearer {api.token()}"},
    )
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_every_response_carries_a_request_id(api):
    for response in (
        api.get("/healthz"),
        api.get("/nothing"),
        api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)),
        api.get(activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER), api.token(), params=GOOD),
    ):
        assert len(response.headers["X-Request-ID"]) >= 8


def test_an_encoded_slash_in_an_id_is_400_through_the_real_server(served):
    """The ASGI bridge hands the app the path as sent (``RAW_URI``), so an id holding
    ``%2F`` is refused as malformed there too, not routed as two segments."""
    path = activity_path(EXAMPLE_CLIENT, "device", quote("a/b", safe=""))
    error = assert_error(served.get(path, served.token(), params=GOOD), 400, "invalid_parameter")
    assert error["details"] == {"device_id": "a%2Fb"}


def test_a_request_gunicorn_cannot_parse_still_gets_a_json_error(served):
    """Malformed HTTP never reaches Flask; the server's own answer is JSON too."""
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header!: 1\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "invalid_parameter"
