"""The answer cache (api.answer_cache): repeated answers stay right, access rules still apply first,
and a new build or snapshot makes every cached answer stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reference import computes
from served_api import DATA_START, activity_path, assert_error, expected_body

from api.answer_cache import AnswerCache
from daybook.semantic import load_catalog
from daybook.tokens import open_token_store


def _ask(client, token, entity, client_id, entity_id, metric, start, granularity):
    end = start + timedelta(days=89)
    return client.get(
        activity_path(client_id, entity, entity_id),
        query_string={
            "metric": metric,
            "granularity": granularity,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("entity", ["user", "device"])
def test_answers_served_again_from_the_cache_still_match_the_reference(
    api, make_client, entity, rng
):
    client = make_client()
    answers = client.application.extensions["daybook"].answers
    token = api.token()
    metrics = [m.name for m in load_catalog().metrics_for(entity) if computes(m.name)]
    asked = []
    for metric in metrics:
        client_id, entity_id = rng.choice(api.active_entities(entity))
        granularity = rng.choice(["daily", "weekly", "monthly", "quarterly"])
        start = DATA_START + timedelta(days=rng.randint(0, 90))
        asked.append((client_id, entity_id, metric, start, granularity))
    for round_number in range(2):
        for client_id, entity_id, metric, start, granularity in asked:
            response = _ask(client, token, entity, client_id, entity_id, metric, start, granularity)
            assert response.status_code == 200, response.text
            expected = expected_body(
                api,
                entity,
                client_id,
                entity_id,
                metric,
                start,
                start + timedelta(days=89),
                granularity,
            )
            assert response.get_json() == expected, (round_number, metric, granularity)
    assert answers.hits == len(asked), "the second round came from the cache"


def test_a_cached_answer_equals_the_uncached_answer_byte_for_byte(api, make_client):
    cached, uncached = make_client(), make_client(answer_cache_mb=0)
    client_id, user_id = api.active_entities("user")[0]
    token = api.token()
    bodies = []
    for client in (cached, cached, uncached):
        response = _ask(
            client,
            token,
            "user",
            client_id,
            user_id,
            "activity-count",
            DATA_START,
            "weekly",
        )
        assert response.status_code == 200
        bodies.append((response.get_data(), response.headers["ETag"]))
    assert bodies[0] == bodies[1] == bodies[2]
    assert cached.application.extensions["daybook"].answers.hits == 1
    uncached_answers = uncached.application.extensions["daybook"].answers
    assert (uncached_answers.hits, len(uncached_answers)) == (0, 0)


def test_a_cached_answer_is_still_refused_without_a_valid_token_or_grant(api, make_client):
    client = make_client()
    client_id, user_id = api.active_entities("user")[0]
    store = open_token_store(api.warehouse)  # the app's own store only reads
    record, token = store.create([client_id], label="cache-test")

    def ask(with_token: str):
        return _ask(
            client,
            with_token,
            "user",
            client_id,
            user_id,
            "activity-count",
            DATA_START,
            "daily",
        )

    assert ask(token).status_code == 200  # now cached
    assert_error(_AsRequests(ask(api.token(api.other_client(client_id)))), 403, "forbidden")
    store.revoke(record.token_id)
    assert_error(_AsRequests(ask(token)), 401, "authentication_required")


class _Unversioned:
    """The served warehouse's reader, but without a data version (a never-stamped warehouse)."""

    def __init__(self, warehouse):
        from api.warehouse_reader import open_reader

        self._reader = open_reader(warehouse)
        self.dialect = self._reader.dialect

    def data_version(self):
        return None

    def fetch_one_with_marker(self, sql, parameters):
        return None  # what a PostgreSQL reader answers while the build marker is missing

    def __getattr__(self, name):
        return getattr(self._reader, name)


def test_without_a_data_version_answers_are_right_and_nothing_is_cached(api, make_client):
    client = make_client(reader=_Unversioned(api.warehouse))
    client_id, user_id = api.active_entities("user")[0]
    for _ in range(2):
        response = _ask(
            client,
            api.token(),
            "user",
            client_id,
            user_id,
            "activity-count",
            DATA_START,
            "daily",
        )
        expected = expected_body(
            api,
            "user",
            client_id,
            user_id,
            "activity-count",
            DATA_START,
            DATA_START + timedelta(days=89),
            "daily",
        )
        assert response.get_json() == expected
    answers = client.application.extensions["daybook"].answers
    assert (answers.hits, len(answers)) == (0, 0)


def test_unknown_ids_are_404_whether_or_not_answers_are_cached_or_versioned(api, make_client):
    client_id, user_id = api.active_entities("user")[0]
    for client in (
        make_client(),
        make_client(answer_cache_mb=0),
        make_client(reader=_Unversioned(api.warehouse)),
    ):
        for path_client, path_user, message in (
            ("00000000-0000-0000-0000-000000000000", user_id, "Client not found"),
            (client_id, "00000000-0000-0000-0000-000000000000", "User not found for this client"),
        ):
            for _ in range(2):  # a 404 is never cached into a 200, nor the other way
                response = _ask(
                    client,
                    api.token(),
                    "user",
                    path_client,
                    path_user,
                    "activity-count",
                    DATA_START,
                    "daily",
                )
                error = assert_error(_AsRequests(response), 404, "not_found")
                assert error["message"] == message


class _AsRequests:
    """A Flask test response seen through the ``requests`` interface ``assert_error`` reads."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.get_data(as_text=True)
        self._json = response.get_json()

    def json(self):
        return self._json


def test_the_cache_forgets_least_recently_used_answers_beyond_its_byte_budget():
    cache = AnswerCache(max_bytes=3 * (1000 + 200))
    for index in range(3):
        cache.put(("key", index), "v1", b"x" * 1000)
    assert cache.get(("key", 0), "v1") is not None  # 0 is now the most recently used
    cache.put(("key", 3), "v1", b"x" * 1000)
    assert cache.get(("key", 1), "v1") is None, "the least recently used entry went first"
    assert cache.get(("key", 0), "v1") is not None
    assert cache.size_bytes <= cache.max_bytes


def test_the_cache_serves_nothing_across_versions_or_without_one():
    cache = AnswerCache(max_bytes=10_000)
    cache.put("k", "v1", b"old")
    assert cache.get("k", "v2") is None
    cache.put("k", None, b"unversioned")
    assert cache.get("k", None) is None
    assert cache.get("k", "v1") == b"old"
    off = AnswerCache(max_bytes=0)
    off.put("k", "v1", b"body")
    assert off.get("k", "v1") is None and len(off) == 0


@pytest.mark.build
def test_every_build_gives_the_data_a_new_version(empty_warehouse):
    """What answers are filed under moves with each build: on PostgreSQL the dbt hook's
    stamp, on DuckDB the snapshot each build publishes. A reader on a not yet built
    PostgreSQL warehouse has no version, so nothing is cached."""
    from api.warehouse_reader import open_reader
    from daybook.build import ensure_raw_tables, run_build
    from daybook.serving import publish_snapshot

    ensure_raw_tables(empty_warehouse)
    versions = []
    if empty_warehouse.backend == "postgres":
        reader = open_reader(empty_warehouse)
        try:
            assert reader.data_version() is None
        finally:
            reader.close()
    for _ in range(2):
        result = run_build(empty_warehouse, exclude=["resource_type:test"])
        assert result.success, result.summary()
        if empty_warehouse.backend == "duckdb":
            publish_snapshot(empty_warehouse)
        reader = open_reader(empty_warehouse)
        try:
            versions.append(reader.data_version())
            assert reader.data_version() == versions[-1], "stable while nothing is built"
        finally:
            reader.close()
    assert None not in versions and versions[0] != versions[1]
