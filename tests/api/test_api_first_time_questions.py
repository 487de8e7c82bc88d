"""First-time questions (issue 14): on PostgreSQL the token, the data version and the series
come back from one statement, read only for a token that may see them; every check keeps
its order and a revocation still counts from the next request, on both backends."""

from __future__ import annotations

import json
import random
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import Flask
from served_api import DATA_START, activity_path, assert_error, expected_body

from api.activity import BUCKET_COLUMNS, _answer, range_buckets
from api.activity_models import ActivitySeries
from api.auth import _TOKEN_GUARD
from daybook.semantic.calendar import GRANULARITIES, bucket_starts
from daybook.tokens import open_token_store

END = DATA_START + timedelta(days=89)


def _query(metric: str = "activity-count", start: date = DATA_START, end: date = END) -> dict:
    return {"metric": metric, "start_date": start.isoformat(), "end_date": end.isoformat()}


def _ask(client, token: str | None, path: str, query: dict):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, query_string=query, headers=headers)


class _AsRequests:
    """A Flask test response seen through the ``requests`` interface ``assert_error`` reads."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.get_data(as_text=True)
        self._json = response.get_json()

    def json(self):
        return self._json


def _counting(monkeypatch, reader) -> list[str]:
    """Every pooled connection the reader lends and every statement run on it."""
    calls: list[str] = []
    borrow = reader.pool.connection

    class Counted:
        def __init__(self, con):
            self._con = con

        def execute(self, *args, **kwargs):
            calls.append("statement")
            return self._con.execute(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._con, name)

    @contextmanager
    def counted(*args, **kwargs):
        calls.append("connection")
        with borrow(*args, **kwargs) as con:
            yield Counted(con)

    monkeypatch.setattr(reader.pool, "connection", counted)
    return calls


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # DuckDB reads a snapshot
@pytest.mark.parametrize("cache_mb", [0, 32])
def test_a_first_time_question_is_one_statement_on_postgres_and_its_answer_is_right(
    api, make_client, monkeypatch, cache_mb
):
    """Also with the answer cache on: a question it does not hold yet is read with the token."""
    client = make_client(answer_cache_mb=cache_mb)
    (client_id, user_id), (other_client, other_user) = api.active_entities("user")[:2]
    token = api.token()
    warm = _ask(client, token, activity_path(other_client, "user", other_user), _query())
    assert warm.status_code == 200, warm.text  # known ids loaded at this version

    calls = _counting(monkeypatch, client.application.extensions["daybook"].reader)
    for day in (0, 1):  # two questions never asked before
        start = DATA_START + timedelta(days=day)
        end = start + timedelta(days=89)
        response = _ask(
            client, token, activity_path(client_id, "user", user_id), _query(start=start, end=end)
        )
        assert response.status_code == 200, response.text
        expected = expected_body(
            api, "user", client_id, user_id, "activity-count", start, end, "daily"
        )
        assert response.get_json() == expected
    assert calls == ["connection", "statement"] * 2


@pytest.mark.parametrize("cached", [False, True])
def test_a_revoked_token_is_refused_on_its_next_request(api, make_client, cached):
    """Revocation counts from the next request for a question never asked and for one whose
    answer is cached (both backends)."""
    client = make_client()
    client_id, user_id = api.active_entities("user")[0]
    store = open_token_store(api.warehouse)
    _, token = store.create(None, label="revoked-next")
    path = activity_path(client_id, "user", user_id)
    asked = _query()
    assert _ask(client, token, path, asked).status_code == 200
    store.revoke(token)
    query = asked if cached else _query(start=DATA_START + timedelta(days=3), end=END)
    assert_error(_AsRequests(_ask(client, token, path, query)), 401, "authentication_required")


def test_the_check_order_holds_when_the_token_is_read_with_the_data(api, make_client):
    """401 before 400 before 403 before 404, whatever else is wrong (both backends)."""
    client = make_client()
    client_id, user_id = api.active_entities("user")[0]
    other = api.other_client(client_id)
    granted = api.token(client_id)
    store = open_token_store(api.warehouse)
    _, revoked = store.create(None, label="order")
    store.revoke(revoked)
    unknown = "dbk_000000000000_" + "A" * 43
    good, bad = _query(), _query(metric="no-such-metric")
    path = activity_path(client_id, "user", user_id)
    nobody = "00000000-0000-0000-0000-000000000000"
    cases = [
        (None, path, bad, 401, "authentication_required"),
        (unknown, path, bad, 401, "authentication_required"),
        (revoked, path, bad, 401, "authentication_required"),
        (revoked, path, good, 401, "authentication_required"),
        (granted, path, bad, 400, "invalid_parameter"),
        (granted, activity_path(other, "user", nobody), good, 403, "forbidden"),
        (granted, activity_path(client_id, "user", nobody), good, 404, "not_found"),
    ]
    for token, asked_path, query, status, code in cases:
        assert_error(_AsRequests(_ask(client, token, asked_path, query)), status, code)


def test_failed_authentications_read_with_the_data_still_count_against_the_address(
    api, make_client
):
    client = make_client(rate_limit_failed_auth="3 per minute")
    client_id, user_id = api.active_entities("user")[0]
    path = activity_path(client_id, "user", user_id)
    for index in range(3):
        unknown = f"dbk_00000000000{index}_" + "B" * 43
        assert_error(
            _AsRequests(_ask(client, unknown, path, _query())), 401, "authentication_required"
        )
    assert_error(_AsRequests(_ask(client, api.token(), path, _query())), 429, "rate_limited")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # the statement is PostgreSQL's
def test_the_statement_reads_data_only_for_a_token_that_may(api):
    """The guard itself, at the reader: rows only for the right hash, an active token and a
    granted client; the head row (version, token row) whatever the guard decides."""
    reader = api.app.extensions["daybook"].reader
    tokens = api.app.extensions["daybook"].tokens
    catalog = api.app.extensions["daybook"].catalog
    client_id, user_id = api.active_entities("user")[0]
    other = api.other_client(client_id)
    compiled = catalog.compile(
        metric="activity-count",
        entity="user",
        granularity="daily",
        dialect="postgres",
        shape="buckets",
    )
    parameters = compiled.parameters(
        tenant_id=client_id, entity_id=user_id, start_date=DATA_START, end_date=END
    )
    store = open_token_store(api.warehouse)
    _, revoked = store.create(None, label="guard")
    store.revoke(revoked)
    granted_other = api.token(other)

    def read(token: str) -> tuple:
        found = reader.fetch_all_guarded(
            _TOKEN_GUARD,
            compiled.sql,
            BUCKET_COLUMNS,
            {**parameters, **tokens.guard_parameters(token, client_id)},
        )
        assert found is not None
        return found

    row, rows, version = read(api.token())
    assert row is not None and version is not None
    expected = expected_body(
        api, "user", client_id, user_id, "activity-count", DATA_START, END, "daily"
    )
    assert {(day.isoformat(), value) for day, value in rows if value} == {
        (point["date"], point["value"]) for point in expected["data"] if point["value"]
    }
    forged = api.token()[:-1] + ("A" if api.token()[-1] != "A" else "B")
    for refused in (forged, revoked, granted_other, "dbk_000000000000_" + "C" * 43):
        row, rows, refused_version = read(refused)
        assert rows == [] and refused_version == version


def _random_value(rng: random.Random, value_type: str) -> object:
    """A value as a driver returns it: integers for counts; for number metrics a float, a
    Decimal (PostgreSQL numeric), an integer or None (a ratio with a zero denominator)."""
    if value_type == "integer":
        return rng.randrange(1, 10**12)
    kind = rng.randrange(4)
    if kind == 0:
        return rng.random() * 10 ** rng.randrange(-6, 9)
    if kind == 1:
        return Decimal(rng.randrange(10**8)) / Decimal(10 ** rng.randrange(0, 6))
    return rng.randrange(10**6) if kind == 2 else None


def _documented(value: object, value_type: str) -> object:
    """What the answer must say for one bucket's value (0 or null where there is none)."""
    if value_type == "integer":
        return value or 0
    return float(value) if isinstance(value, Decimal) else value


@pytest.mark.parametrize("value_type", ["integer", "number"])
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_the_answer_is_the_documented_models_json(
    granularity, debug, value_type, rng: random.Random
):
    """The answer's text is what Flask's compact JSON provider writes for
    ``ActivitySeries(...).model_dump(mode="json")`` (the same value when the app's provider
    is not compact), for random ranges and sparse rows from the same random stream; integer
    metrics give integers (0 where no row), number metrics numbers or null."""
    app = Flask(__name__)
    app.debug = debug
    app.json.sort_keys = False  # as create_app sets it
    metric = SimpleNamespace(label='A "quoted" label, é')
    services = SimpleNamespace(catalog=SimpleNamespace(metrics={"m-1": metric}))
    # what the compiled query says of its values (CompiledQuery.value_type and .empty)
    compiled = SimpleNamespace(
        value_type=int if value_type == "integer" else float,
        empty=0 if value_type == "integer" else None,
    )
    for _ in range(50):
        start = date(2020, 1, 1) + timedelta(days=rng.randrange(2000))
        end = start + timedelta(days=rng.randrange(120))
        buckets = bucket_starts(start, end, granularity)
        rows = [(b, _random_value(rng, value_type)) for b in buckets if rng.random() < 0.4]
        query = SimpleNamespace(
            metric="m-1", start_date=start, end_date=end, granularity=granularity
        )
        held = dict(rows)
        model = ActivitySeries(
            metric="m-1",
            label='A "quoted" label, é',
            period={"start": start, "end": end},
            data=[{"date": b, "value": _documented(held.get(b), value_type)} for b in buckets],
        ).model_dump(mode="json")
        with app.app_context():
            response = _answer(services, query, rows, compiled)
        assert response.mimetype == "application/json"
        assert json.loads(response.get_data()) == model
        if not debug:
            assert (
                response.get_data(as_text=True) == json.dumps(model, separators=(",", ":")) + "\n"
            )
        if value_type == "integer":
            assert all(type(point["value"]) is int for point in model["data"])
        assert [day for day, _ in range_buckets(start, end, granularity)] == buckets
