"""Rate limits (contract section 4, 429): per token, and per address after failed authentication.

In-process apps over the sample warehouse with small limits from the app config; each app
has its own in-memory limit storage, so tests never share counters.
"""

from __future__ import annotations

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_USER, activity_path, serving_copy, start_server

from api.settings import Settings
from daybook.config import ConfigError
from daybook.tokens import open_token_store

PATH = activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)
PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-15"}


def _get(client, token: str | None, path: str = PATH, address: str = "10.0.0.1", **params):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(
        path,
        query_string={**PARAMS, **params},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def assert_rate_limited(response, scope: str) -> dict:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 61
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["scope"] == scope
    return body["error"]


@pytest.fixture
def second_token(api) -> str:
    """A token of its own (the session's ``api.token()`` is shared by other tests)."""
    return open_token_store(api.warehouse).create(None, label="rate-limit-tests")[1]


def test_a_token_over_its_limit_gets_429_while_another_token_is_served(
    api, make_client, second_token
):
    client = make_client(rate_limit_per_token="3 per minute", rate_limit_failed_auth="off")
    flooding, other = api.token(), second_token
    for _ in range(3):
        assert _get(client, flooding).status_code == 200
    for _ in range(3):  # the flood goes on, interleaved with the other token's requests
        assert_rate_limited(_get(client, flooding), "token")
        assert _get(client, other).status_code == 200
        assert_rate_limited(_get(client, flooding), "token")
    # the other token has its own, untouched window: 3 answered, then its own 429
    assert_rate_limited(_get(client, other), "token")


def test_the_token_limit_counts_every_endpoint_and_any_address(api, make_client):
    client = make_client(rate_limit_per_token="2 per minute", rate_limit_failed_auth="off")
    token = api.token()
    assert _get(client, token, address="10.0.0.1").status_code == 200
    assert (
        client.get("/v2/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert_rate_limited(_get(client, token, address="10.0.0.2"), "token")


def test_a_forged_token_with_a_real_tokens_id_does_not_use_up_its_limit(api, make_client):
    client = make_client(rate_limit_per_token="2 per minute", rate_limit_failed_auth="off")
    token = api.token()
    prefix, token_id, secret = token.split("_", 2)
    forged = f"{prefix}_{token_id}_{'A' * len(secret)}"
    for _ in range(2):
        assert _get(client, forged).status_code == 401
    assert _get(client, token).status_code == 200


def test_repeated_failed_authentication_from_one_address_gets_429(api, make_client, second_token):
    client = make_client(rate_limit_per_token="off", rate_limit_failed_auth="3 per minute")
    attacker, neighbour = "10.0.0.66", "10.0.0.7"
    assert _get(client, None, address=attacker).status_code == 401  # no credentials
    assert _get(client, "dbk_nonsense", address=attacker).status_code == 401
    assert _get(client, "dbk_0123456789ab_" + "x" * 43, address=attacker).status_code == 401
    for token in (None, "dbk_wrong", second_token):  # refused before any token lookup
        assert_rate_limited(_get(client, token, address=attacker), "failed-authentication")
    # another address, with or without a valid token, is not affected
    assert _get(client, second_token, address=neighbour).status_code == 200
    assert _get(client, "dbk_wrong", address=neighbour).status_code == 401


def test_successful_requests_and_other_errors_do_not_count_as_failed_authentication(
    api, make_client
):
    client = make_client(rate_limit_per_token="off", rate_limit_failed_auth="2 per minute")
    token = api.token()
    for _ in range(4):
        assert _get(client, token).status_code == 200
        assert _get(client, token, metric="no-such-metric").status_code == 400
    other = api.other_client(EXAMPLE_CLIENT)
    limited = make_client(rate_limit_per_token="off", rate_limit_failed_auth="1 per minute")
    only_other = api.token(other)
    for _ in range(3):
        assert _get(limited, only_other).status_code == 403
    assert _get(limited, token).status_code == 200


def test_probes_docs_and_the_page_have_no_limit(api, make_client):
    client = make_client(rate_limit_per_token="1 per minute", rate_limit_failed_auth="1 per minute")
    assert _get(client, "dbk_wrong").status_code == 401
    for _ in range(5):
        for path in ("/healthz", "/readyz", "/v2/openapi.json", "/v2/docs", "/v2", "/"):
            assert client.get(path).status_code == 200, path


def test_the_429_is_documented_in_the_openapi_document(api, make_client):
    document = make_client().get("/v2/openapi.json").get_json()
    responses = document["paths"]["/v2/clients/{client_id}/analytics/users/{user_id}/activity"][
        "get"
    ]["responses"]
    assert responses["429"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }


def test_limits_come_from_the_environment_and_bad_ones_fail_at_start(monkeypatch, api):
    monkeypatch.setenv("DAYBOOK_RATE_LIMIT_PER_TOKEN", "10 per second; 100 per hour")
    monkeypatch.setenv("DAYBOOK_RATE_LIMIT_FAILED_AUTH", "off")
    monkeypatch.setenv("DAYBOOK_RATE_LIMIT_STORAGE_URI", "memory://")
    settings = Settings.from_config({"warehouse": api.warehouse})
    assert settings.rate_limit_per_token == "10 per second; 100 per hour"
    assert settings.rate_limit_failed_auth == ""
    assert settings.rate_limit_storage_uri == "memory://"
    with pytest.raises(ConfigError, match="not a rate limit"):
        Settings.from_config({"warehouse": api.warehouse, "rate_limit_per_token": "lots"})


def test_the_defaults_are_far_above_what_the_bench_drives(api):
    from limits import parse_many

    settings = Settings.from_config({"warehouse": api.warehouse})
    per_second = min(
        item.amount / item.get_expiry() for item in parse_many(settings.rate_limit_per_token)
    )
    assert per_second >= 5_000  # make bench: a few thousand requests/s with one token


def test_the_served_api_answers_with_default_limits(served):
    """The real server (gunicorn, default limits) serves a quick burst from one token."""
    token = served.token()
    statuses = {
        served.get(PATH, token, params={**PARAMS, "granularity": g}).status_code
        for g in ("daily", "weekly", "monthly", "quarterly") * 10
    }
    assert statuses == {200}


@pytest.mark.served
def test_a_forwarded_for_header_does_not_change_the_address_that_is_limited(
    backend, built_warehouses, samples, tmp_path
):
    """The address is the socket's peer: a client naming a new ``X-Forwarded-For`` on each
    guess is still one address (uvicorn trusts that header on loopback by default, so
    every guess from this host used to count for an address of its choosing)."""
    sample = samples[backend]
    warehouse = serving_copy(built_warehouses[backend].warehouse, tmp_path / "copy")
    server = start_server(
        warehouse,
        tmp_path / "served",
        sample.reference,
        sample.raw,
        settings={"DAYBOOK_RATE_LIMIT_FAILED_AUTH": "3 per minute"},
        workers=1,  # one worker: one in-memory counter, so the limit is exact
    )
    try:
        answers = [
            server.get(PATH, "dbk_wrong", PARAMS, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(1, 6)
        ]
    finally:
        server.stop()
    assert [answer.status_code for answer in answers[:3]] == [401, 401, 401]
    for answer in answers[3:]:
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["details"]["scope"] == "failed-authentication"


def test_the_in_process_store_overrides_hooks_the_library_still_has():
    """LazyMemoryStorage overrides name-mangled private methods of ``limits``' MemoryStorage
    (checked against limits 5.8.0): a release that renames them must fail here, loudly."""
    from limits.storage import MemoryStorage

    from api.limits import _PRIVATE_HOOKS, LazyMemoryStorage, open_storage

    for name in _PRIVATE_HOOKS:
        assert callable(getattr(MemoryStorage, name, None)), (
            f"limits' MemoryStorage no longer has {name}: re-check api/limits.py"
        )
        assert name in vars(MemoryStorage), name  # the library's own, not inherited
    assert "_MemoryStorage__schedule_expiry" in vars(LazyMemoryStorage)
    assert type(open_storage("memory://")) is LazyMemoryStorage


def test_the_in_process_store_drops_expired_counters_without_a_timer_thread():
    import threading

    from api.limits import LazyMemoryStorage

    store = LazyMemoryStorage()
    store.timer.join()  # the one timer the base class starts in __init__

    def timers() -> int:
        return sum(isinstance(thread, threading.Timer) for thread in threading.enumerate())

    first_timer, before = store.timer, timers()
    for key in range(50):
        store.incr(f"k{key}", expiry=60)
    # the base class replaces its ended timer on every increment; the override never does
    assert store.timer is first_timer, "limits' MemoryStorage started a timer: hook not overridden"
    assert timers() <= before  # no timer thread per increment
    for key in list(store.expirations):
        store.expirations[key] = 0  # every window over
    store._next_sweep = 0
    store.incr("fresh", expiry=60)
    assert set(store.storage) == {"fresh"}  # swept inline, in this very call


def test_an_unreachable_storage_lets_requests_through():
    from limits import parse_many

    from api.limits import RateLimits

    class Broken:
        def hit(self, *args, **kwargs):
            raise ConnectionError("redis down")

        test = hit

    limits = RateLimits(parse_many("1 per minute"), parse_many("1 per minute"), Broken())
    for _ in range(3):
        limits.check_address("10.0.0.1")
        limits.count_failure("10.0.0.1")
        limits.hit_token("abcdef012345")
