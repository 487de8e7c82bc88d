"""One client row with a time zone the database does not know must not stop the build.

The rest of the warehouse builds as usual; the bad clients stay in ``dim_clients``
(the API still finds them) with a null local creation day, and every heartbeat of
theirs is quarantined as ``invalid_client_timezone``, never dropped. Expected marts
come from the plain-Python reference over the same raw rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from reference import IANA_ZONES

from daybook.build import run_build

from .scenario import DT, expected_marts, heartbeat, insert_raw, query, read_marts

# a zone no database knows, an empty one and a missing one
BAD_TIMEZONES = {"c-mars": "Mars/Olympus", "c-blank": "", "c-none": None}


def _raw() -> dict[str, list[dict]]:
    """A normal client and three clients with unusable zones, each with one user and device."""
    zones = {"c-good": "Europe/Paris", **BAD_TIMEZONES}
    clients, users, devices, beats = [], [], [], []
    for client_id, zone in zones.items():
        clients.append(
            {
                "client_id": client_id,
                "name": client_id.upper(),
                "timezone": zone,
                "created_at": DT("2026-03-01 23:30:00"),
            }
        )
        user_id, device_id = f"u-{client_id}", f"d-{client_id}"
        # the bad clients' entities have no creation time: the reference cannot place one
        # in an unknown zone, and the warehouse leaves their creation days null
        created = DT("2026-03-02 08:00:00") if zone == "Europe/Paris" else None
        users.append(
            {
                "user_id": user_id,
                "client_id": client_id,
                "email": f"{user_id}@example.com",
                "display_name": user_id,
                "created_at": created,
            }
        )
        devices.append(
            {
                "device_id": device_id,
                "client_id": client_id,
                "hostname": f"{device_id}.local",
                "platform": "linux",
                "created_at": created,
            }
        )
        for number in range(6):
            # 23:30 UTC is the next local day in Paris: the local day is really computed
            generated = DT("2026-03-03 23:30:00") + timedelta(hours=7 * number)
            beats.append(
                heartbeat(
                    f"hb-{client_id}-{number}",
                    client_id,
                    user_id,
                    device_id,
                    generated,
                    generated + timedelta(minutes=2),
                )
            )
    return {"clients": clients, "users": users, "devices": devices, "heartbeats": beats}


def test_invalid_client_time_zone_quarantines_its_heartbeats_and_the_rest_builds(
    empty_warehouse,
) -> None:
    raw = _raw()
    insert_raw(empty_warehouse, raw)

    result = run_build(empty_warehouse)

    assert result.success, result.summary()
    marts = read_marts(empty_warehouse)
    expected = expected_marts(raw)
    assert marts == expected
    assert {client for client, *_ in marts["activity"]} == {"c-good"}
    bad_beats = {hb["heartbeat_id"] for hb in raw["heartbeats"] if hb["client_id"] != "c-good"}
    quarantined = {
        heartbeat_id: reasons for heartbeat_id, _at, reasons in marts["quarantine"].elements()
    }
    assert set(quarantined) == bad_beats
    assert set(quarantined.values()) == {"invalid_client_timezone"}
    clients = {
        row["client_id"]: row
        for row in query(
            empty_warehouse, "select client_id, timezone, created_date from dim_clients"
        )
    }
    assert set(clients) == {"c-good", *BAD_TIMEZONES}
    for client_id, zone in BAD_TIMEZONES.items():
        assert clients[client_id]["timezone"] == zone
        assert clients[client_id]["created_date"] is None
    assert str(clients["c-good"]["created_date"]) == "2026-03-02"


# Names one warehouse's zone catalogue holds and the tz database does not (DuckDB's ICU:
# Java's three-letter ids, SystemV; PostgreSQL: posix/ copies, posixrules, localtime),
# beside names of the tz database itself
# fmt: off
CATALOGUE_ONLY = (
    "ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT", "ECT",
    "IET", "IST", "JST", "MIT", "NET", "NST", "PLT", "PNT", "PRT", "PST", "SST", "VST",
    "Canada/East-Saskatchewan", "US/Pacific-New", "SystemV/EST5", "SystemV/PST8PDT",
    "posix/America/New_York", "posixrules", "localtime",
)
# fmt: on
IANA = ("EST", "CST6CDT", "Asia/Kolkata", "Etc/GMT+5", "America/New_York", "UTC")
# Spark's zone lookup (java.time) knows no three-letter alias (docs/ARCHITECTURE.md)
SPARK_UNKNOWN = {"EST", "MST", "HST"}


@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_a_zone_is_valid_when_the_tz_database_names_it_on_every_warehouse(
    backend, make_warehouse
) -> None:
    warehouse = make_warehouse(backend)
    zones = {f"c-{number}": zone for number, zone in enumerate(CATALOGUE_ONLY + IANA)}
    clients = [
        {
            "client_id": client,
            "name": zone,
            "timezone": zone,
            "created_at": DT("2026-03-01 12:00:00"),
        }
        for client, zone in zones.items()
    ]
    insert_raw(warehouse, {"clients": clients})
    assert run_build(warehouse, select=["+dim_clients"], exclude=["resource_type:test"]).success
    known = {
        row["client_id"]: row["created_date"] is not None
        for row in query(warehouse, "select client_id, created_date from dim_clients")
    }
    unknown = SPARK_UNKNOWN if backend == "spark" else set()
    expected = {client: zone in IANA_ZONES - unknown for client, zone in zones.items()}
    assert {zones[c]: v for c, v in known.items()} == {zones[c]: v for c, v in expected.items()}
