"""A valid heartbeat counts whatever its date: before 1970 or after 2099 too; one whose
local day no warehouse can hold (year one, the last days of 9999) is quarantined instead
of stopping every build.

A device whose clock was reset sends 1970-01-01 00:00 UTC, which is 1969-12-31 in New
York; a clock far ahead sends the next century. Both heartbeats are valid (contract
section 1 sets no date bound), so neither may stop the build (dim_dates' fixed years
made the facts' relationship tests fail) nor be left out of the dense facts. Expected
marts come from the plain-Python reference over the same raw rows, after a first build
without those heartbeats and an incremental build that adds them.
"""

from __future__ import annotations

import pytest

from daybook.build import run_build

from .scenario import DT, expected_marts, heartbeat, insert_raw, query, read_marts

CLIENT, USER, DEVICE = "c-ny", "u-ny", "d-ny"
OUTSIDE = {"hb-epoch": "1970-01-01 00:00:00", "hb-next-century": "2100-01-01 12:00:00"}
# .NET's zero time (0000-12-31 in New York) and the last day there is (its spine would end
# in year 10000): both stopped every build on DuckDB and PostgreSQL
UNREPRESENTABLE = {"hb-year-one": "0001-01-01 00:00:00", "hb-last-day": "9999-12-31 12:00:00"}
# a device created at .NET's zero time: its creation day is unknown, not year 0
DOTNET_DEVICE = {
    "device_id": "d-dotnet",
    "client_id": CLIENT,
    "hostname": "dotnet.local",
    "platform": "windows",
    "created_at": DT("0001-01-01 00:00:00"),
}


def _entities() -> dict[str, list[dict]]:
    created = DT("2026-03-02 08:00:00")
    return {
        "clients": [
            {
                "client_id": CLIENT,
                "name": "New York",
                "timezone": "America/New_York",
                "created_at": DT("2026-03-01 12:00:00"),
            }
        ],
        "users": [
            {
                "user_id": USER,
                "client_id": CLIENT,
                "email": "u@example.com",
                "display_name": "U",
                "created_at": created,
            }
        ],
        "devices": [
            {
                "device_id": DEVICE,
                "client_id": CLIENT,
                "hostname": "d.local",
                "platform": "linux",
                "created_at": created,
            }
        ],
    }


def _beat(heartbeat_id: str, generated: str) -> dict:
    return heartbeat(heartbeat_id, CLIENT, USER, DEVICE, DT(generated), DT("2026-03-03 12:05:00"))


@pytest.mark.parametrize("backend", ["duckdb", "postgres", "spark"])
def test_1969_and_2100_count_and_unrepresentable_days_are_quarantined(
    backend, make_warehouse
) -> None:
    warehouse = make_warehouse(backend)
    first = {**_entities(), "heartbeats": [_beat("hb-today", "2026-03-03 12:00:00")]}
    insert_raw(warehouse, first)
    # dbt's data tests run once, in the incremental build below: the state this test is
    # about (on Spark each run of them costs about half a minute)
    assert run_build(warehouse, exclude=["resource_type:test"]).success

    outside = [
        _beat(heartbeat_id, at) for heartbeat_id, at in {**OUTSIDE, **UNREPRESENTABLE}.items()
    ]
    insert_raw(warehouse, {"heartbeats": outside, "devices": [DOTNET_DEVICE]})
    result = run_build(warehouse)  # incremental, with dbt's data tests

    assert result.success, result.summary()
    raw = {
        **first,
        "heartbeats": first["heartbeats"] + outside,
        "devices": first["devices"] + [DOTNET_DEVICE],
    }
    expected = expected_marts(raw)
    quarantined = {(heartbeat_id, why) for heartbeat_id, _at, why in expected["quarantine"]}
    assert quarantined == {(hb, "generated_at_out_of_range") for hb in UNREPRESENTABLE}
    days = {day for _client, day, _user, _device in expected["activity"]}
    assert {str(day) for day in days} == {"1969-12-31", "2026-03-03", "2100-01-01"}
    assert read_marts(warehouse) == expected
    spine = query(warehouse, "select min(date_day) as first, max(date_day) as last from dim_dates")
    assert (str(spine[0]["first"]), str(spine[0]["last"])) == ("1969-12-31", "2100-01-01")
    dotnet = query(
        warehouse,
        "select created_date, active_from_date from dim_devices where device_id = 'd-dotnet'",
    )
    assert dotnet == [{"created_date": None, "active_from_date": None}]
