"""What a request reads about the data (api.request_state): the version its answer is cached
under (one warehouse round trip on PostgreSQL), and each client's Last-Modified."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from reference import newest_received_by_client
from served_api import DATA_START, activity_path
from werkzeug.http import http_date


def _path_and_query(client_id: str, user_id: str) -> tuple[str, dict[str, str]]:
    return activity_path(client_id, "user", user_id), {
        "metric": "activity-count",
        "start_date": DATA_START.isoformat(),
        "end_date": (DATA_START + timedelta(days=89)).isoformat(),
    }


def test_a_repeated_answer_costs_one_round_trip_on_postgres_and_no_query_on_duckdb(
    api, make_client, monkeypatch
):
    """PostgreSQL: the token and the data version come back from one statement; DuckDB:
    the version is the snapshot's id and tokens live beside the warehouse, so a cached
    answer queries nothing."""
    client = make_client()
    reader = client.application.extensions["daybook"].reader
    path, query = _path_and_query(*api.active_entities("user")[0])
    headers = {"Authorization": f"Bearer {api.token()}"}
    first = client.get(path, query_string=query, headers=headers)
    assert first.status_code == 200, first.text

    calls: list[str] = []
    if api.backend == "postgres":
        borrow = reader.pool.connection

        @contextmanager
        def counted(*args, **kwargs):
            calls.append("connection")
            with borrow(*args, **kwargs) as con:
                yield con

        monkeypatch.setattr(reader.pool, "connection", counted)
    else:
        fetch_all = reader.fetch_all
        monkeypatch.setattr(reader, "fetch_all", lambda *a: calls.append("query") or fetch_all(*a))

    again = client.get(path, query_string=query, headers=headers)
    assert again.get_data() == first.get_data()
    assert client.application.extensions["daybook"].answers.hits == 1
    assert len(calls) == (1 if api.backend == "postgres" else 0), calls


def test_last_modified_is_the_clients_own_newest_heartbeat(api, make_client):
    """Each client's answers carry that client's newest heartbeat, not the warehouse's: a
    client polling its own answers learns nothing of when other clients' data arrived."""
    newest = newest_received_by_client(api.reference)
    clients = {client for client, _ in api.active_entities("user")}
    assert len({newest[client] for client in clients}) > 1, "the sample must tell them apart"
    apps = (make_client(), make_client(answer_cache_mb=0))
    for client_id in sorted(clients):
        user_id = next(user for client, user in api.active_entities("user") if client == client_id)
        path, query = _path_and_query(client_id, user_id)
        for client in apps:
            for _ in range(2):  # the answer, then the cached answer
                response = client.get(
                    path, query_string=query, headers={"Authorization": f"Bearer {api.token()}"}
                )
                assert response.status_code == 200
                expected = http_date(newest[client_id].replace(microsecond=0))
                assert response.headers["Last-Modified"] == expected, client_id
        listing = apps[0].get(
            f"/v2/clients/{client_id}/users", headers={"Authorization": f"Bearer {api.token()}"}
        )
        assert listing.headers["Last-Modified"] == expected
