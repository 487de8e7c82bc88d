"""The directory endpoints the page uses, over HTTP on both backends (no browser needed).

``/v2/clients``, ``/v2/metrics``, ``/v2/clients/{id}/users|devices`` and
``/v2/clients/{id}/analytics/top-users|top-devices`` are public API: same
authentication, same check order (401, 400, 403, 404) and same JSON errors as
the activity endpoints. Expected answers come from the raw rows and
``tests/reference.py``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from served_api import DATA_START, activity_path

from daybook.semantic import load_catalog

START, END = date(2025, 12, 4), date(2026, 2, 1)
MISSING_CLIENT = "00000000-0000-4000-8000-000000000000"
ENTITY_FIELDS = {"user": ("display_name", "email"), "device": ("hostname", "platform")}


def raw_entities(api, entity: str, client_id: str) -> dict[str, list[dict]]:
    """Raw rows of a client's users or devices, by id (a re-delivered row appears twice)."""
    rows = api.users if entity == "user" else api.devices
    by_id: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["client_id"] == client_id and row[f"{entity}_id"]:
            by_id[row[f"{entity}_id"]].append(row)
    return by_id


def busiest_client(api) -> str:
    totals: dict[str, int] = defaultdict(int)
    for (client, day, _user, _device), values in api.reference.activity.items():
        if START <= day <= END:
            totals[client] += values["total_activity_count"]
    return max(sorted(totals), key=lambda client: totals[client])


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_clients_are_the_tokens_clients_with_their_activity_span(api):
    days: dict[str, list[date]] = defaultdict(list)
    for client, day, _user, _device in api.reference.activity:
        days[client].append(day)
    raw = {row["client_id"]: row for row in api.clients if row["client_id"]}

    answer = api.get("/v2/clients", api.token())
    assert answer.status_code == 200
    listed = {row["client_id"]: row for row in answer.json()["data"]}
    assert set(listed) == set(raw)
    for client_id, row in listed.items():
        assert row["name"] == raw[client_id]["name"]
        assert row["timezone"] == raw[client_id]["timezone"]
        span = days.get(client_id)
        assert row["first_activity_date"] == (min(span).isoformat() if span else None)
        assert row["last_activity_date"] == (max(span).isoformat() if span else None)

    one = sorted(raw)[0]
    answer = api.get("/v2/clients", api.token(one))
    assert [row["client_id"] for row in answer.json()["data"]] == [one]


def test_the_metric_catalogue_is_the_yaml_catalogue(api):
    catalog = load_catalog()
    answer = api.get("/v2/metrics", api.token())
    assert answer.status_code == 200
    body = answer.json()
    assert [
        {key: row[key] for key in ("name", "label", "description", "entities")}
        for row in body["data"]
    ] == [
        {
            "name": metric.name,
            "label": metric.label,
            "description": metric.description,
            "entities": list(metric.entities),
        }
        for metric in catalog.metrics.values()
    ]
    assert [entity["name"] for entity in body["entities"]] == list(catalog.entities)


DATES = {
    "start_date": DATA_START.isoformat(),
    "end_date": date.fromordinal(DATA_START.toordinal() + 89).isoformat(),
}


def test_each_metric_says_what_its_values_are_as_its_series_show(api):
    """``value_type`` in ``/v2/metrics`` (what a chart needs to word a zero or a gap) is what
    the activity endpoint then serves: whole numbers, or JSON numbers and nulls."""
    token = api.token()
    client_id, user_id = api.active_entities("user")[0]
    kinds = set()
    for metric in api.get("/v2/metrics", token).json()["data"]:
        path = (
            activity_path(client_id, "user", user_id)
            if "user" in metric["entities"]
            else f"/v2/clients/{client_id}/analytics/activity"
        )
        series = api.get(path, token, params={**DATES, "metric": metric["name"]}).json()["data"]
        values = [point["value"] for point in series]
        if metric["value_type"] == "integer":
            assert all(type(value) is int for value in values), (metric["name"], values)
        else:
            assert metric["value_type"] == "number", metric
            assert all(value is None or isinstance(value, float) for value in values), (
                metric["name"],
                values,
            )
        kinds.add(metric["value_type"])
    assert kinds == {"integer", "number"}  # the shipped catalogue has both kinds


@pytest.mark.parametrize("entity", ["user", "device"])
def test_a_clients_entities_are_listed_and_paged(api, entity):
    client_id = busiest_client(api)
    expected = raw_entities(api, entity, client_id)
    path = f"/v2/clients/{client_id}/{entity}s"
    token = api.token(client_id)

    everything = api.get(path, token, params={"limit": 1000}).json()
    assert everything["total"] == len(expected)
    assert {row[f"{entity}_id"] for row in everything["data"]} == set(expected)
    for row in everything["data"]:
        shown = tuple(row[name] for name in ENTITY_FIELDS[entity])
        assert shown in {
            tuple(r[name] for name in ENTITY_FIELDS[entity]) for r in expected[row[f"{entity}_id"]]
        }

    paged: list[dict] = []
    for offset in range(0, len(expected), 7):
        page = api.get(path, token, params={"limit": 7, "offset": offset}).json()
        assert page["total"] == len(expected)
        paged += page["data"]
    assert paged == everything["data"]


@pytest.mark.parametrize("entity", ["user", "device"])
def test_search_is_a_case_insensitive_literal_substring(api, entity):
    client_id = busiest_client(api)
    rows = raw_entities(api, entity, client_id)
    name_field = ENTITY_FIELDS[entity][0]
    sample = next(r[0][name_field] for _, r in sorted(rows.items()) if r[0][name_field])
    token = api.token(client_id)
    for text in (sample[1:5].upper(), "%", "_", "' or '1'='1", sorted(rows)[0][:8]):
        answer = api.get(
            f"/v2/clients/{client_id}/{entity}s", token, params={"search": text, "limit": 1000}
        )
        assert answer.status_code == 200, answer.text
        needle = text.strip().lower()
        expected = {
            entity_id
            for entity_id, copies in rows.items()
            for row in copies
            if any(
                needle in (row[name] or "").lower()
                for name in (f"{entity}_id", *ENTITY_FIELDS[entity])
            )
        }
        assert {row[f"{entity}_id"] for row in answer.json()["data"]} == expected, text


@pytest.mark.parametrize("entity", ["user", "device"])
def test_most_active_entities_match_the_reference(api, entity):
    client_id = busiest_client(api)
    position = 2 if entity == "user" else 3
    totals: dict[str, int] = defaultdict(int)
    for key, values in api.reference.activity.items():
        if key[0] == client_id and START <= key[1] <= END:
            totals[key[position]] += values["total_activity_count"]
    ranked = sorted((i for i in totals if totals[i] > 0), key=lambda i: (-totals[i], i))[:5]

    answer = api.get(
        f"/v2/clients/{client_id}/analytics/top-{entity}s",
        api.token(client_id),
        params={"start_date": START, "end_date": END, "limit": 5},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["period"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert [(row[f"{entity}_id"], row["total_activity"]) for row in body["data"]] == [
        (i, totals[i]) for i in ranked
    ]


PATHS = [
    "/v2/clients/{client}/users",
    "/v2/clients/{client}/devices",
    "/v2/clients/{client}/analytics/top-users?start_date=2026-01-01&end_date=2026-01-31",
    "/v2/clients/{client}/analytics/top-devices?start_date=2026-01-01&end_date=2026-01-31",
]


@pytest.mark.parametrize("template", PATHS)
def test_checks_run_in_the_contracts_order(api, template):
    client_id = busiest_client(api)
    other = api.other_client(client_id)
    path = template.format(client=client_id)

    answer = api.get(template.format(client="not-a-uuid"))
    assert_error(answer, 401, "authentication_required")  # 401 before 400
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api.get(path, "dbk_000000000000_" + "A" * 43), 401, "authentication_required")
    error = assert_error(
        api.get(template.format(client="not-a-uuid"), api.token(other)),
        400,
        "invalid_parameter",
    )
    assert error["details"] == {"client_id": "not-a-uuid"}
    assert_error(api.get(path, api.token(other)), 403, "forbidden")
    # A token never learns whether another client exists: 403 either way.
    missing = template.format(client=MISSING_CLIENT)
    assert_error(api.get(missing, api.token(other)), 403, "forbidden")
    assert_error(api.get(missing, api.token()), 404, "not_found")
    assert api.get(path, api.token()).status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start_date=2026-01-01&end_date=2026-04-01", "Date range cannot exceed 90 days"),
        ("start_date=2026-02-01&end_date=2026-01-01", "start_date must not be after end_date"),
        ("start_date=2026-01-01&end_date=2026-01-31&limit=51", "Invalid limit"),
        ("start_date=2026-1-1&end_date=2026-01-31", "Invalid start_date"),
        ("end_date=2026-01-31", "start_date"),
    ],
)
def test_bad_ranking_parameters_are_invalid_parameter(api, query, message):
    client_id = busiest_client(api)
    answer = api.get(f"/v2/clients/{client_id}/analytics/top-users?{query}", api.token())
    assert message in assert_error(answer, 400, "invalid_parameter")["message"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("search=" + "x" * 201, "at most 200 characters"),
        ("search=a%00b", "NUL character"),
    ],
)
def test_bad_listing_parameters_are_invalid_parameter(api, query, message):
    client_id = busiest_client(api)
    answer = api.get(f"/v2/clients/{client_id}/users?{query}", api.token())
    assert message in assert_error(answer, 400, "invalid_parameter")["message"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "\u00b2"),  # superscript two: str.isdigit() says yes, int() says no
        ("limit", "\u0661"),  # Arabic-Indic one: int() would read it as 1
        ("offset", "9" * 5000),  # past int()'s 4,300-digit limit
        ("offset", " 1"),
    ],
)
def test_numbers_are_ascii_digits_and_refused_in_the_apis_own_words(api, name, value):
    client_id = busiest_client(api)
    answer = api.get(f"/v2/clients/{client_id}/users", api.token(), params={name: value})
    error = assert_error(answer, 400, "invalid_parameter")
    assert error["message"].startswith(f"Invalid {name}: expected a whole number from ")
    assert error["details"] == {name: value}


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("users", "limit", ["5", "500"]),
        ("devices", "search", ["a", "b"]),
        ("analytics/top-users?start_date=2026-01-01", "end_date", ["2026-01-31", "2026-01-02"]),
    ],
)
def test_a_repeated_parameter_is_400_naming_it(api, path, name, values):
    client_id = busiest_client(api)
    separator = "&" if "?" in path else "?"
    query = "&".join(f"{name}={value}" for value in values)
    answer = api.get(f"/v2/clients/{client_id}/{path}{separator}{query}", api.token())
    error = assert_error(answer, 400, "invalid_parameter")
    assert error["message"] == f"Invalid {name}: given 2 times; give it once"
    assert error["details"] == {name: values}


def test_the_directory_is_in_the_openapi_document_behind_bearer_auth(api):
    document = api.get("/v2/openapi.json").json()
    for path in (
        "/v2/clients",
        "/v2/metrics",
        "/v2/clients/{client_id}/users",
        "/v2/clients/{client_id}/devices",
        "/v2/clients/{client_id}/analytics/top-users",
        "/v2/clients/{client_id}/analytics/top-devices",
    ):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"bearerAuth": []}], path
        assert {"200", "400", "401", "403", "404", "500"} <= set(operation["responses"]), path
