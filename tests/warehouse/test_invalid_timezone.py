"""One client row with a time zone the database does not know must not stop the build.

The rest of the warehouse builds as usual; the bad clients stay in ``dim_clients``
(the API still finds them) with a null local creation day, and every heartbeat of
theirs is quarantined as ``invalid_client_timezone``, never dropped. Expected marts
come from the plain-Python reference over the same raw rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
IANA = ("EST", "MST", "HST", "CST6CDT", "Asia/Kolkata", "Etc/GMT+5", "America/New_York", "UTC")


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
    expected = {client: zone in IANA_ZONES for client, zone in zones.items()}
    assert {zones[c]: v for c, v in known.items()} == {zones[c]: v for c, v in expected.items()}


# Zone names some reader takes for something else: PostgreSQL reads the first four as its
# fixed-offset abbreviations (no summer time), ICU reads MST and HST as Phoenix and
# Honolulu (1967, 1946), Java knows none of EST, MST, HST and Factory. The day each
# instant is checked on: local 00:30 and 23:30 of it, where an hour off moves the day.
READ_OTHERWISE = {
    "CET": date(2026, 7, 1),
    "EET": date(2026, 7, 1),
    "MET": date(2026, 7, 1),
    "WET": date(2026, 7, 1),
    "EST": date(2026, 1, 15),
    "MST": date(2026, 7, 1),
    "HST": date(2026, 7, 1),
    "Factory": date(2026, 7, 1),
    "Europe/Paris": date(2026, 7, 1),
}
# Creation days far back, where ICU's Phoenix and Honolulu differ from the fixed offsets
# chosen for MST and HST (the tz database's definition until 2024b, Debian's zone files;
# docs/ARCHITECTURE.md), spelt here as the fixed zones they mean, so the expected day does
# not depend on this machine's tz database release. Client rows only: no heartbeat, so no
# month partitions back to then.
CREATED_ON = {"MST": date(1967, 7, 1), "HST": date(1946, 7, 1)}
FIXED = {"MST": "Etc/GMT+7", "HST": "Etc/GMT+10"}


def _utc(day: date, local: time, zone: str) -> datetime:
    """The UTC time (naive) of ``day`` at ``local`` wall-clock time in ``zone`` (zoneinfo)."""
    instant = datetime.combine(day, local, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return instant.replace(tzinfo=None)


@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_zone_names_read_otherwise_convert_by_the_tz_database_on_every_warehouse(
    backend, make_warehouse
) -> None:
    warehouse = make_warehouse(backend)
    raw: dict[str, list[dict]] = {"clients": [], "users": [], "devices": [], "heartbeats": []}
    for number, (zone, day) in enumerate(READ_OTHERWISE.items()):
        client, user, device = f"c-{number}", f"u-{number}", f"d-{number}"
        created = _utc(CREATED_ON.get(zone, day), time(23, 30), FIXED.get(zone, zone))
        raw["clients"].append(
            {"client_id": client, "name": zone, "timezone": zone, "created_at": created}
        )
        raw["users"].append(
            {"user_id": user, "client_id": client, "email": None, "display_name": None,
             "created_at": None}
        )  # fmt: skip
        raw["devices"].append(
            {"device_id": device, "client_id": client, "hostname": None, "platform": None,
             "created_at": None}
        )  # fmt: skip
        for local in (time(0, 30), time(23, 30)):
            generated = _utc(day, local, zone)
            raw["heartbeats"].append(
                heartbeat(f"hb-{number}-{local.hour}", client, user, device, generated, generated)
            )
    insert_raw(warehouse, raw)

    result = run_build(warehouse, exclude=["resource_type:test"])

    assert result.success, result.summary()
    marts = read_marts(warehouse)
    assert marts == expected_marts(raw)
    zones = {row["client_id"]: row["timezone"] for row in raw["clients"]}
    days = {(zones[client], day) for client, day, *_ in marts["activity"]}
    assert days == set(READ_OTHERWISE.items())  # both instants on the day, in every zone
    created = {
        zones[row["client_id"]]: row["created_date"]
        for row in query(warehouse, "select client_id, created_date from dim_clients")
    }
    assert created == {zone: CREATED_ON.get(zone, day) for zone, day in READ_OTHERWISE.items()}
