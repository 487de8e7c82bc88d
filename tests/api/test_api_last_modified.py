"""``Last-Modified`` is never later than the response's own ``Date``, even when a client's newest
heartbeat was received "in the future" (a collector's clock ahead), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from served_api import start_server

from daybook.config import Warehouse
from daybook.serving import freshness
from daybook.tokens import open_token_store

pytestmark = pytest.mark.served  # its own build, and the real server's Date header
RAW = ("clients", "users", "devices", "heartbeats")


@pytest.fixture
def future_warehouse(
    backend: str, make_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Warehouse, str]:
    """A small built warehouse whose newest heartbeat was received ten days from now, and
    that heartbeat's client (a valid heartbeat, so the client exists)."""
    from daybook.generate import generate_dataset
    from daybook.load import load_files
    from daybook.refresh import refresh_once
    from daybook.warehouse import connection

    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    warehouse = make_warehouse(backend)
    files = generate_dataset(tmp_path / "raw", heartbeats=2_000, seed=23)
    for table in RAW:
        load_files(warehouse, table, files[table])
    future = (datetime.now(UTC) + timedelta(days=10)).replace(tzinfo=None, microsecond=0)
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(
            "select heartbeats.heartbeat_id, heartbeats.client_id from raw.heartbeats"
            " join raw.users on users.user_id = heartbeats.user_id"
            " and users.client_id = heartbeats.client_id"
            " order by heartbeats.heartbeat_id limit 1"
        )
        heartbeat_id, client_id = cursor.fetchone()
        placeholder = "?" if backend == "duckdb" else "%s"
        cursor.execute(
            f"update raw.heartbeats set received_at_utc = {placeholder} "
            f"where heartbeat_id = {placeholder}",
            (future, heartbeat_id),
        )
        con.commit()
    refresh_once(warehouse)
    newest = freshness(warehouse)
    assert newest is not None and newest > datetime.now(UTC) + timedelta(days=9)
    return warehouse, client_id


def test_last_modified_is_never_later_than_date(
    future_warehouse: tuple[Warehouse, str], tmp_path: Path
):
    future_warehouse, client_id = future_warehouse
    server = start_server(
        future_warehouse,
        tmp_path / "served",
        None,
        {t: [] for t in ("clients", "users", "devices")},
    )
    try:
        token = open_token_store(future_warehouse).create(None, label="last-modified")[1]
        users = server.get(f"/v2/clients/{client_id}/users", token).json()["data"]
        path = f"/v2/clients/{client_id}/analytics/users/{users[0]['user_id']}/activity"
        params = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-31"}
        for target, query in ((path, params), (f"/v2/clients/{client_id}/users", {})):
            response = server.get(target, token, query)
            assert response.status_code == 200
            date = parsedate_to_datetime(response.headers["Date"])
            last_modified = parsedate_to_datetime(response.headers["Last-Modified"])
            assert last_modified <= date
            assert last_modified >= date - timedelta(minutes=1)  # clamped to now, not older data
            # the ETag still decides 304, and the 304 keeps the same rule
            again = server.get(
                target, token, query, headers={"If-None-Match": response.headers["ETag"]}
            )
            assert again.status_code == 304
            if "Last-Modified" in again.headers:  # Werkzeug drops it from a 304
                resent = parsedate_to_datetime(again.headers["Last-Modified"])
                assert resent <= parsedate_to_datetime(again.headers["Date"])
    finally:
        server.stop()
