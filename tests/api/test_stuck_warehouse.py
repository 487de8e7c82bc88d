"""A warehouse read stuck behind a lock fails after the query timeout instead of holding an
app thread for as long as the lock lasts (with a few such reads, every thread and every
other client's request with them)."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from served_api import DATA_START, activity_path

# every mart an answer about a user can read
LOCKED = "fct_user_activity_daily, fct_activity_daily, dim_users"


def _ask(client, token: str, path: str, start):
    query = {
        "metric": "activity-count",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=30)).isoformat(),
    }
    return client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # DuckDB reads wait on no lock
def test_a_read_stuck_behind_a_lock_is_a_500_after_the_query_timeout(api, make_client):
    client = make_client(query_timeout_seconds=1, answer_cache_mb=0)
    client_id, user_id = api.active_entities("user")[0]
    path, token = activity_path(client_id, "user", user_id), api.token()
    assert _ask(client, token, path, DATA_START).status_code == 200  # ids known, pool warm

    answers: list = []
    with psycopg.connect(api.warehouse.pg_conninfo) as locker:
        locker.execute(f"lock table {LOCKED} in access exclusive mode")
        asking = threading.Thread(
            target=lambda: answers.append(_ask(client, token, path, DATA_START + timedelta(1)))
        )
        asking.start()
        asking.join(timeout=60)  # without a timeout the read waits for the lock: forever here
        stuck = asking.is_alive()
        locker.rollback()  # lets a stuck read go, so the thread ends either way
    asking.join()
    assert not stuck, "the read waited for the lock"
    error = answers[0].get_json()["error"]
    assert answers[0].status_code == 500 and error["code"] == "internal_error"
    assert "lock" not in error["message"].lower() and "select" not in error["message"].lower()
    # and the reader is usable again once the lock is gone
    assert _ask(client, token, path, DATA_START + timedelta(2)).status_code == 200
