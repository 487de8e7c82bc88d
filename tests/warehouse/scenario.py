"""Hand-made raw rows for warehouse tests, and the marts they must produce.

The rows are written with plain SQL (no loader, no generator), so these tests
depend only on the dbt project and ``daybook.build``. Every edge the contract
names is here on purpose: duplicates (with different values, so double counting
or keeping the wrong copy shows), each kind of invalid row, time zones with DST
and odd offsets, heartbeats one second either side of local midnight on DST change
days, and a second batch with late heartbeats, late duplicates and a user that
arrives after its heartbeats. Expected marts come from ``tests/reference.py``.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

from reference import MEASURES, Reference, compute, created_day, local_day

from daybook.config import Warehouse
from daybook.raw_schema import RAW_SCHEMA, RAW_TABLES
from daybook.warehouse import connection

DT = datetime.fromisoformat

CLIENTS = [
    {
        "client_id": "c-ny",
        "name": "New York Co",
        "timezone": "America/New_York",
        "created_at": DT("2026-03-01 15:00:00"),
    },
    {
        "client_id": "c-kol",
        "name": "Kolkata Ltd",
        "timezone": "Asia/Kolkata",
        "created_at": DT("2026-03-02 03:00:00"),
    },
    {
        "client_id": "c-kir",
        "name": "Kiritimati",
        "timezone": "Pacific/Kiritimati",
        "created_at": DT("2026-03-03 00:00:00"),
    },
    {
        "client_id": "c-scl",
        "name": "Santiago SA",
        "timezone": "America/Santiago",
        "created_at": DT("2026-03-01 12:00:00"),
    },
]


def _user(user_id: str, client_id: str, created: str | None) -> dict:
    return {
        "user_id": user_id,
        "client_id": client_id,
        "email": f"{user_id}@example.com",
        "display_name": user_id.upper(),
        "created_at": DT(created) if created else None,
    }


def _device(device_id: str, client_id: str, created: str | None) -> dict:
    return {
        "device_id": device_id,
        "client_id": client_id,
        "hostname": f"{device_id}.local",
        "platform": "linux",
        "created_at": DT(created) if created else None,
    }


def clients_with_one_user_and_device(
    zones: dict[str, str | None], created: str | None
) -> dict[str, list[dict]]:
    """Raw clients (id -> time zone), each with one user ``u-<client>`` and one device
    ``d-<client>``, all created at ``created``: for tests about one edge, not the mix above."""
    return {
        "clients": [
            {
                "client_id": client,
                "name": client,
                "timezone": zone,
                "created_at": DT(created) if created else None,
            }
            for client, zone in zones.items()
        ],
        "users": [_user(f"u-{client}", client, created) for client in zones],
        "devices": [_device(f"d-{client}", client, created) for client in zones],
    }


USERS = [
    _user("u-ny-1", "c-ny", "2026-03-05 14:00:00"),
    _user("u-ny-2", "c-ny", "2026-03-07 02:00:00"),  # 2026-03-06 local: created a day "early"
    _user("u-ny-idle", "c-ny", "2026-03-06 16:00:00"),  # never active: dense zeros only
    _user("u-kol-1", "c-kol", None),  # no creation time: dense from first active day
    _user("u-kir-1", "c-kir", "2026-03-05 09:00:00"),
    _user("u-kir-2", "c-kir", "2026-03-09 12:00:00"),  # first active only in batch 2, earlier
    _user("u-scl-1", "c-scl", "2026-03-05 12:00:00"),
]
DEVICES = [
    _device("d-ny-shared", "c-ny", "2026-03-05 14:00:00"),  # used by two users
    _device("d-ny-2", "c-ny", "2026-03-06 14:00:00"),
    _device("d-kol-1", "c-kol", "2026-03-04 10:00:00"),
    _device("d-kir-1", "c-kir", None),
    _device("d-scl-1", "c-scl", "2026-03-05 12:00:00"),
]
PAIRS = [  # (client, user, device) combinations that produce activity
    ("c-ny", "u-ny-1", "d-ny-shared"),
    ("c-ny", "u-ny-2", "d-ny-shared"),
    ("c-ny", "u-ny-1", "d-ny-2"),
    ("c-kol", "u-kol-1", "d-kol-1"),
    ("c-kir", "u-kir-1", "d-kir-1"),
    ("c-scl", "u-scl-1", "d-scl-1"),
]
BATCH1_RECEIVED_UNTIL = DT("2026-03-11 00:00:00")

# (heartbeat_id, client, user, device, generated_at_utc) one second either side of local
# midnight on DST change days; the expected day comes from the reference's zoneinfo.
DST_EDGES = [
    ("dst-ny-spring-before", "c-ny", "u-ny-1", "d-ny-2", "2026-03-08 04:59:59"),
    ("dst-ny-spring-after", "c-ny", "u-ny-1", "d-ny-2", "2026-03-08 05:00:01"),
    ("dst-ny-spring-next-before", "c-ny", "u-ny-1", "d-ny-2", "2026-03-09 03:59:59"),
    ("dst-ny-spring-next-after", "c-ny", "u-ny-1", "d-ny-2", "2026-03-09 04:00:01"),
    ("dst-kol-half-hour-before", "c-kol", "u-kol-1", "d-kol-1", "2026-03-07 18:29:59"),
    ("dst-kol-half-hour-after", "c-kol", "u-kol-1", "d-kol-1", "2026-03-07 18:30:01"),
]
DST_EDGES_BATCH2 = [  # Santiago skips its midnight when DST starts on 2026-09-06
    ("dst-scl-before", "c-scl", "u-scl-1", "d-scl-1", "2026-09-06 03:59:59"),
    ("dst-scl-after", "c-scl", "u-scl-1", "d-scl-1", "2026-09-06 04:00:01"),
]


def heartbeat(
    heartbeat_id: str | None,
    client_id: str | None,
    user_id: str | None,
    device_id: str | None,
    generated: datetime | None,
    received: datetime | None,
    counts: tuple | None = None,
    total: object = "sum",
) -> dict:
    """A raw heartbeat row; ``total="sum"`` makes total_activity_count consistent."""
    counts = counts if counts is not None else (1, 2, 0, 3, 1)
    row = {
        "heartbeat_id": heartbeat_id,
        "client_id": client_id,
        "user_id": user_id,
        "device_id": device_id,
        "generated_at_utc": generated,
        "received_at_utc": received,
    }
    row |= dict(zip(MEASURES[:5], counts, strict=True))
    row["total_activity_count"] = sum(counts) if total == "sum" else total
    return row


def batch1() -> dict[str, list[dict]]:
    """Entities and heartbeats of the first load (received before BATCH1_RECEIVED_UNTIL)."""
    rng = random.Random(20260308)
    beats = []
    for number in range(240):
        client, user, device = rng.choice(PAIRS)
        generated = DT("2026-03-05 00:00:00") + timedelta(seconds=rng.randrange(5 * 86400))
        received = generated + timedelta(minutes=rng.randrange(1, 600))
        counts = tuple(rng.randrange(0, 20) for _ in range(5))
        beats.append(
            heartbeat(f"hb-{number:04d}", client, user, device, generated, received, counts)
        )
    for hb_id, client, user, device, generated in DST_EDGES:
        beats.append(
            heartbeat(
                hb_id, client, user, device, DT(generated), DT(generated) + timedelta(minutes=3)
            )
        )
    # duplicates: a later copy with other values (must be ignored), and an earlier copy
    # inserted after the first one (must win)
    original = beats[10]
    beats.append(
        original
        | {
            "received_at_utc": original["received_at_utc"] + timedelta(hours=5),
            "chrome_activity_count": 500,
            "total_activity_count": original["total_activity_count"]
            + 500
            - original["chrome_activity_count"],
        }
    )
    second = beats[20]
    beats.append(
        second
        | {
            "received_at_utc": second["received_at_utc"] - timedelta(seconds=30),
            "edge_activity_count": 0,
            "total_activity_count": second["total_activity_count"] - second["edge_activity_count"],
        }
    )
    when, later = DT("2026-03-07 15:00:00"), DT("2026-03-07 15:05:00")
    beats += [  # one heartbeat per validity rule
        heartbeat("bad-missing-user", "c-ny", None, "d-ny-2", when, later),
        heartbeat("bad-empty-device", "c-ny", "u-ny-1", "", when, later),
        heartbeat("bad-unknown-client", "c-nowhere", "u-ny-1", "d-ny-2", when, later),
        heartbeat("bad-unknown-user", "c-ny", "u-nobody", "d-ny-2", when, later),
        heartbeat("bad-foreign-user", "c-ny", "u-kol-1", "d-ny-2", when, later),
        heartbeat("bad-unknown-device", "c-ny", "u-ny-1", "d-nothing", when, later),
        heartbeat("bad-foreign-device", "c-ny", "u-ny-1", "d-kol-1", when, later),
        heartbeat("bad-negative", "c-ny", "u-ny-1", "d-ny-2", when, later, (-1, 2, 0, 0, 0)),
        heartbeat("bad-fraction", "c-ny", "u-ny-1", "d-ny-2", when, later, (2.5, 0, 0, 0, 0)),
        heartbeat("bad-nan", "c-ny", "u-ny-1", "d-ny-2", when, later, (float("nan"), 0, 0, 0, 0)),
        heartbeat(
            "bad-null-count", "c-ny", "u-ny-1", "d-ny-2", when, later, (None, 0, 0, 0, 0), total=4
        ),
        heartbeat("bad-total", "c-ny", "u-ny-1", "d-ny-2", when, later, total=99),
        heartbeat("bad-no-time", "c-ny", "u-ny-1", "d-ny-2", None, later),
        heartbeat("bad-several", "c-kol", "u-ny-1", "d-nothing", when, later, (-3, 0, 0, 0, 0)),
        # no id at all, delivered twice: both copies are quarantined
        heartbeat(None, "c-ny", "u-ny-1", "d-ny-2", when, later),
        heartbeat(None, "c-ny", "u-ny-1", "d-ny-2", when, later),
        # its user arrives only in batch 2: quarantined now, valid after the refresh
        heartbeat(
            "hb-early-for-late-user",
            "c-kol",
            "u-kol-late",
            "d-kol-1",
            DT("2026-03-08 20:00:00"),
            DT("2026-03-08 20:01:00"),
        ),
    ]
    assert max(row["received_at_utc"] for row in beats) < BATCH1_RECEIVED_UNTIL
    return {"clients": CLIENTS, "users": USERS, "devices": DEVICES, "heartbeats": beats}


def batch2(first: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The second load: late heartbeats, late duplicates, new days, a late user."""
    received = BATCH1_RECEIVED_UNTIL + timedelta(days=2)
    newest_processed = max(row["received_at_utc"] for row in first["heartbeats"])
    old = first["heartbeats"][30]
    beats = [
        # late: generated on 2026-03-06, received a week later; lands on its own day
        heartbeat(
            "hb-late",
            "c-ny",
            "u-ny-2",
            "d-ny-2",
            DT("2026-03-06 18:30:00"),
            received,
            (7, 7, 7, 7, 7),
        ),
        # late duplicate of an already counted heartbeat, with other values: ignored
        old
        | {
            "received_at_utc": received,
            "chrome_activity_count": 1000,
            "total_activity_count": old["total_activity_count"]
            + 1000
            - old["chrome_activity_count"],
        },
        # received before the newest batch-1 copy (within the lookback), loaded only now
        heartbeat(
            "hb-out-of-order",
            "c-kir",
            "u-kir-1",
            "d-kir-1",
            DT("2026-03-07 08:00:00"),
            newest_processed - timedelta(hours=6),
        ),
        # late activity before the user's creation day: its dense span starts earlier
        heartbeat(
            "hb-before-created", "c-kir", "u-kir-2", "d-kir-1", DT("2026-03-06 10:00:00"), received
        ),
        # new activity of a user created in this batch
        heartbeat(
            "hb-new-user", "c-kir", "u-kir-new", "d-kir-1", DT("2026-03-10 02:00:00"), received
        ),
        heartbeat(
            "bad-late-total",
            "c-ny",
            "u-ny-1",
            "d-ny-2",
            DT("2026-03-06 12:00:00"),
            received,
            total=-5,
        ),
    ]
    for hb_id, client, user, device, generated in DST_EDGES_BATCH2:
        beats.append(
            heartbeat(
                hb_id, client, user, device, DT(generated), DT(generated) + timedelta(minutes=1)
            )
        )
    users = [
        _user("u-kol-late", "c-kol", "2026-03-08 00:00:00"),
        _user("u-kir-new", "c-kir", "2026-03-09 20:00:00"),
    ]
    return {"clients": [], "users": users, "devices": [], "heartbeats": beats}


# --- writing raw rows --------------------------------------------------------------------


# raw columns on Spark: timestamps are UTC wall-clock times without a zone (TIMESTAMP_NTZ,
# as `daybook load` writes them there), counts double precision
SPARK_RAW_TYPES = {"varchar": "string", "timestamp": "timestamp_ntz", "double precision": "double"}


def spark_raw_ddl(name: str) -> str:
    """``create table if not exists raw.<name>`` in Spark SQL (parquet)."""
    spec = RAW_TABLES[name]
    columns = ", ".join(f"{column} {SPARK_RAW_TYPES[kind]}" for column, kind in spec.columns)
    return f"create table if not exists {spec.qualified_name} ({columns}) using parquet"


def _spark_value(value: object) -> object:
    """A raw value as a bound Spark parameter: timestamps as text (cast to TIMESTAMP_NTZ by
    the insert, so no client or session zone moves them), NaN as its name."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(float(value))
    return value


def write_spark_raw(
    warehouse: Warehouse, name: str, rows: list[dict], *, overwrite: bool = False
) -> None:
    """Insert (or, with ``overwrite``, replace the table with) ``rows`` in one statement,
    every value a bound parameter cast to its column's type."""
    spec = RAW_TABLES[name]
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        cursor.execute(spark_raw_ddl(name))
        if not rows:
            if overwrite:
                cursor.execute(f"truncate table {spec.qualified_name}")
            return
        casts = ", ".join(f"cast(? as {SPARK_RAW_TYPES[kind]})" for _column, kind in spec.columns)
        verb = "insert overwrite table" if overwrite else "insert into"
        sql = f"{verb} {spec.qualified_name} values " + ", ".join([f"({casts})"] * len(rows))
        cursor.execute(
            sql, [_spark_value(row[column]) for row in rows for column in spec.column_names]
        )


def insert_raw(warehouse: Warehouse, tables: dict[str, list[dict]]) -> None:
    """Create the raw schema/tables when missing and insert the rows with bound parameters."""
    if warehouse.backend == "spark":
        for name in RAW_TABLES:
            write_spark_raw(warehouse, name, tables.get(name) or [])
        return
    placeholder = "?" if warehouse.backend == "duckdb" else "%s"
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        for name, spec in RAW_TABLES.items():
            cursor.execute(spec.create_sql())
            rows = tables.get(name) or []
            if not rows:
                continue
            columns = spec.column_names
            sql = (
                f"insert into {spec.qualified_name} ({', '.join(columns)}) "
                f"values ({', '.join([placeholder] * len(columns))})"
            )
            cursor.executemany(sql, [tuple(row[column] for column in columns) for row in rows])
        con.commit()


def merge_batches(*batches: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {table: [row for batch in batches for row in batch[table]] for table in RAW_TABLES}


# --- reading marts -----------------------------------------------------------------------

DENSE_MEASURES = (*MEASURES, "heartbeat_count")


def query(warehouse: Warehouse, sql: str) -> list[dict]:
    if warehouse.backend == "spark":
        rows = _spark_query(warehouse, sql)
        return rows
    with connection(warehouse, read_only=True) as con:
        cursor = con.cursor()
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _spark_query(warehouse: Warehouse, sql: str) -> list[dict]:
    """``sql``'s rows on Spark, through a session that never read a table before (a
    session's cached file lists go stale when dbt rebuilds a table)."""
    with connection(warehouse) as con:
        cursor = con.cursor()
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_marts(warehouse: Warehouse) -> dict[str, dict]:
    """The three facts keyed by grain (values: measure dicts) and the quarantine multiset."""
    measures = ", ".join(DENSE_MEASURES)
    activity = {
        (
            row.pop("client_id"),
            row.pop("activity_date"),
            row.pop("user_id"),
            row.pop("device_id"),
        ): row
        for row in query(
            warehouse,
            f"select client_id, activity_date, user_id, device_id, "
            f"{measures} from fct_activity_daily",
        )
    }
    users = {
        (row.pop("client_id"), row.pop("user_id"), row.pop("activity_date")): row
        for row in query(
            warehouse,
            f"select client_id, user_id, activity_date, {measures}, "
            "device_count from fct_user_activity_daily",
        )
    }
    devices = {
        (row.pop("client_id"), row.pop("device_id"), row.pop("activity_date")): row
        for row in query(
            warehouse,
            f"select client_id, device_id, activity_date, {measures}, "
            "user_count from fct_device_activity_daily",
        )
    }
    quarantine = Counter(
        (row["heartbeat_id"], row["received_at_utc"], row["invalid_reasons"])
        for row in query(
            warehouse,
            "select heartbeat_id, received_at_utc, invalid_reasons from fct_heartbeats_quarantined",
        )
    )
    return {"activity": activity, "users": users, "devices": devices, "quarantine": quarantine}


# --- what the marts must hold ------------------------------------------------------------


def expected_marts(raw: dict[str, list[dict]]) -> dict[str, dict]:
    """The facts and quarantine the contract implies for ``raw``, from the reference."""
    ref = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    quarantine = Counter(
        (hb["heartbeat_id"] or None, hb["received_at_utc"], ",".join(reasons))
        for hb, reasons in ref.quarantined
    )
    return {
        "activity": ref.activity,
        "users": _dense(ref, raw, "user"),
        "devices": _dense(ref, raw, "device"),
        "quarantine": quarantine,
    }


def _dense(ref: Reference, raw: dict[str, list[dict]], entity: str) -> dict:
    """Every day of every entity's life (earlier of local creation / first activity to the
    latest active day anywhere), zero-filled; distinct counts of the other entity."""
    timezones = {row["client_id"]: row["timezone"] for row in raw["clients"]}
    sparse = ref.user_days() if entity == "user" else ref.device_days()
    other_count = "device_count" if entity == "user" else "user_count"
    if not ref.activity:
        return {}
    last_day = max(day for _client, day, _user, _device in ref.activity)
    expected: dict = {}
    for row in raw[f"{entity}s"]:
        client, entity_id = row["client_id"], row[f"{entity}_id"]
        if client not in timezones:
            continue
        starts = [day for (c, e, day) in sparse if c == client and e == entity_id]
        if (created := created_day(row["created_at"], timezones[client])) is not None:
            starts.append(created)
        if not starts:
            continue
        day = min(starts)
        while day <= last_day:
            values = sparse.get((client, entity_id, day), {})
            cell = {measure: values.get(measure, 0) for measure in DENSE_MEASURES}
            cell[other_count] = values.get(other_count, 0)
            expected[(client, entity_id, day)] = cell
            day += timedelta(days=1)
    return expected


def dst_expectations() -> list[tuple[str, str, date]]:
    """(heartbeat_id, client_id, expected local day) for every DST edge heartbeat."""
    timezones = {row["client_id"]: row["timezone"] for row in CLIENTS}
    return [
        (hb_id, client, local_day(DT(generated), timezones[client]))
        for hb_id, client, _user, _device, generated in (*DST_EDGES, *DST_EDGES_BATCH2)
    ]
