"""A received time past year 9999 written straight into raw (no loader: ``daybook load``
refuses one) neither stops ``daybook build`` nor ``daybook refresh``.

DuckDB and PostgreSQL hold such a time; Python's datetime does not, so one row of it had
stopped every publish (the warehouse's freshness record) and every refresh (measuring the
arrivals), and the API's per-client ``Last-Modified`` could not be read. The heartbeat
still counts on its generated day; its received time is left out of the freshness times
and of the arrivals only (else it would be one at every cycle). Spark's timestamps end
with year 9999 (its documented range; the same queries guard it), and ``make_warehouse``
writes Spark's raw tables from Python values, so DuckDB and PostgreSQL run this.
Expected values are computed here over the rows inserted.
"""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner

from daybook.build_cli import build
from daybook.refresh_cli import refresh
from daybook.warehouse import connection

from .scenario import DT, clients_with_one_user_and_device, heartbeat, insert_raw, query

CLIENTS = ("c-a", "c-b")
FAR = "10000-01-01 04:00:00"  # 9999-12-31 23:00:00-05:00


def _entities() -> dict[str, list[dict]]:
    return clients_with_one_user_and_device(dict.fromkeys(CLIENTS, "UTC"), "2026-03-01 08:00:00")


def _beat(heartbeat_id: str, client: str, generated: str, received: str) -> dict:
    return heartbeat(
        heartbeat_id, client, f"u-{client}", f"d-{client}", DT(generated), DT(received)
    )


def _insert_far_copy(warehouse, source_id: str, new_id: str, generated: str) -> None:
    """A copy of heartbeat ``source_id`` as ``new_id``, received at :data:`FAR` (SQL text:
    Python cannot hold the time)."""
    with connection(warehouse) as con:
        con.cursor().execute(
            "insert into raw.heartbeats select "
            f"'{new_id}', client_id, user_id, device_id, cast('{generated}' as timestamp), "
            f"cast('{FAR}' as timestamp), chrome_activity_count, edge_activity_count, "
            "firefox_activity_count, desktop_activity_count, web_accessibility_activity_count, "
            f"total_activity_count from raw.heartbeats where heartbeat_id = '{source_id}'"
        )
        con.commit()


def _freshness(warehouse) -> dict[str, datetime]:
    rows = query(warehouse, "select client_id, newest_received_at_utc from fct_client_freshness")
    return {row["client_id"]: row["newest_received_at_utc"] for row in rows}


def _heartbeats_on(warehouse, client: str, day: str) -> int:
    rows = query(
        warehouse,
        "select sum(heartbeat_count) as n from fct_activity_daily "
        f"where client_id = '{client}' and cast(activity_date as varchar(10)) = '{day}'",
    )
    return int(rows[0]["n"] or 0)


def test_a_received_time_past_9999_neither_stops_build_nor_refresh(
    backend, make_warehouse, monkeypatch
) -> None:
    warehouse = make_warehouse(backend)
    beats = [
        _beat("hb-a1", "c-a", "2026-03-02 10:00:00", "2026-03-02 10:00:05"),
        _beat("hb-a2", "c-a", "2026-03-03 11:00:00", "2026-03-03 11:00:05"),
        _beat("hb-b1", "c-b", "2026-03-02 09:00:00", "2026-03-02 09:00:05"),
    ]
    insert_raw(warehouse, {**_entities(), "heartbeats": beats})
    _insert_far_copy(warehouse, "hb-a2", "hb-a-far", "2026-03-03 12:00:00")
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)

    built = CliRunner().invoke(build, [])
    assert built.exit_code == 0, built.output
    newest = {}
    for beat in beats:  # in Python: the newest received time a client has, the far one aside
        client = beat["client_id"]
        newest[client] = max(newest.get(client, beat["received_at_utc"]), beat["received_at_utc"])
    assert _freshness(warehouse) == newest
    assert _heartbeats_on(warehouse, "c-a", "2026-03-03") == 2  # the far-received one counts

    later = _beat("hb-b2", "c-b", "2026-03-04 09:00:00", "2026-03-04 09:00:05")
    insert_raw(warehouse, {"heartbeats": [later]})
    refreshed = CliRunner().invoke(refresh, [])
    assert refreshed.exit_code == 0, refreshed.output
    assert "cycle failed" not in refreshed.output, refreshed.output
    assert _freshness(warehouse) == {**newest, "c-b": later["received_at_utc"]}
    assert _heartbeats_on(warehouse, "c-b", "2026-03-04") == 1

    # the far one is no arrival at every later cycle: nothing new, nothing built
    again = CliRunner().invoke(refresh, [])
    assert again.exit_code == 0, again.output
    assert "nothing new (0 heartbeats in), skipped build" in again.output, again.output
