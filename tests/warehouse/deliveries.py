"""Raw deliveries in the contract's shapes, and the helpers that apply them and compare marts.

Shared by the warehouse's build tests (incremental builds against a full build, rewrites,
pruning of dense facts, the read race): each draws deliveries from :class:`Deliveries`,
writes them with :func:`apply`, runs dbt with :func:`run` and compares :func:`marts`.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from daybook.build import run_dbt
from daybook.config import Warehouse
from daybook.raw_schema import RAW_SCHEMA
from daybook.warehouse import connection

from .scenario import heartbeat, insert_raw, query, write_spark_raw

DT = datetime.fromisoformat
START = DT("2026-03-01 00:00:00")
ZONES = ("America/New_York", "Asia/Kolkata", "Pacific/Kiritimati", "UTC", "Europe/Berlin")
# Every kind of delivery a step can draw, besides its new heartbeats.
KINDS = ("late_copies", "backfill", "move_user", "move_device", "zone", "created", "arrive")

# every mart and its columns, minus the lineage stamps that differ by design
MARTS = {
    "dim_clients": "client_id, client_name, timezone, created_at, created_date",
    "dim_users": "user_id, client_id, email, display_name, created_at, created_date, "
    "first_active_date, last_active_date, active_from_date",
    "dim_devices": "device_id, client_id, hostname, platform, created_at, created_date, "
    "first_active_date, last_active_date, active_from_date",
    "fct_activity_daily": "client_id, activity_date, user_id, device_id, chrome_activity_count, "
    "edge_activity_count, firefox_activity_count, desktop_activity_count, "
    "web_accessibility_activity_count, total_activity_count, heartbeat_count",
    "fct_user_activity_daily": "client_id, user_id, activity_date, total_activity_count, "
    "chrome_activity_count, heartbeat_count, device_count",
    "fct_device_activity_daily": "client_id, device_id, activity_date, total_activity_count, "
    "edge_activity_count, heartbeat_count, user_count",
    "fct_heartbeats_quarantined": "heartbeat_key, heartbeat_id, client_id, user_id, device_id, "
    "generated_at_utc, received_at_utc, chrome_activity_count, edge_activity_count, "
    "firefox_activity_count, desktop_activity_count, web_accessibility_activity_count, "
    "total_activity_count, invalid_reasons",
    "fct_client_freshness": "client_id, newest_received_at_utc",
}


class Deliveries:
    """A random stream of raw writes in the contract's shapes, with its own clock."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = START
        self.clients = [f"c{n}" for n in range(3)]
        self.zone = {client: self.rng.choice(ZONES) for client in self.clients}
        self.users = {f"u{n}": self.clients[n % 3] for n in range(6)}
        self.devices = {f"d{n}": self.clients[n % 3] for n in range(5)}
        self.pending_user = "u-late"  # heartbeats name it before it is delivered
        self.kept: list[dict] = []
        self.serial = 0
        self.drawn: set[str] = set()  # the kinds of delivery the steps so far drew

    def first(self) -> dict[str, list[dict]]:
        return {
            "clients": [self._client(c) for c in self.clients],
            "users": [self._user(u, c) for u, c in self.users.items()],
            "devices": [self._device(d, c) for d, c in self.devices.items()],
            "heartbeats": self._new_heartbeats(12),
        }

    def step(self) -> list[tuple[str, object]]:
        """One delivery: a list of (operation, payload) applied to both warehouses."""
        self.now += timedelta(days=self.rng.choice((1, 2, 5)))
        ops: list[tuple[str, object]] = [("insert", {"heartbeats": self._new_heartbeats(8)})]
        kinds = self.rng.sample(KINDS, k=self.rng.randint(1, 3))
        self.drawn.update(kinds)
        for kind in kinds:
            ops += getattr(self, f"_{kind}")()
        return ops

    # --- entities
    def _client(self, client: str) -> dict:
        created = START - timedelta(days=2)
        return {
            "client_id": client,
            "name": client.upper(),
            "timezone": self.zone[client],
            "created_at": created,
        }

    def _user(self, user: str, client: str, created: datetime | None = None) -> dict:
        return {
            "user_id": user,
            "client_id": client,
            "email": f"{user}@x",
            "display_name": user,
            "created_at": created
            or START + timedelta(hours=int(user[1:] or 0) if user[1:].isdigit() else 0),
        }

    def _device(self, device: str, client: str, created: datetime | None = None) -> dict:
        return {
            "device_id": device,
            "client_id": client,
            "hostname": device,
            "platform": "linux",
            "created_at": created,
        }

    def _replace_or_add(self, table: str, row: dict) -> list[tuple[str, object]]:
        """As ``daybook load`` does (replace by id), or a second raw row written by hand."""
        if self.rng.random() < 0.6:
            return [("replace", (table, row))]
        return [("insert", {table: [row]})]

    def _move_user(self):
        user = self.rng.choice(sorted(self.users))
        self.users[user] = self.rng.choice([c for c in self.clients if c != self.users[user]])
        return self._replace_or_add("users", self._user(user, self.users[user]))

    def _move_device(self):
        device = self.rng.choice(sorted(self.devices))
        self.devices[device] = self.rng.choice(
            [c for c in self.clients if c != self.devices[device]]
        )
        return self._replace_or_add("devices", self._device(device, self.devices[device]))

    def _zone(self):
        client = self.rng.choice(self.clients)
        self.zone[client] = self.rng.choice([z for z in ZONES if z != self.zone[client]])
        return [("replace", ("clients", self._client(client)))]

    def _created(self):
        user = self.rng.choice(sorted(self.users))
        created = self.now - timedelta(days=self.rng.randint(0, 12), hours=self.rng.randint(0, 23))
        return [("replace", ("users", self._user(user, self.users[user], created)))]

    def _arrive(self):
        if self.pending_user is None:
            return []
        user, self.pending_user = self.pending_user, None
        self.users[user] = "c1"
        return [("insert", {"users": [self._user(user, "c1", START)]})]

    # --- heartbeats
    def _new_heartbeats(self, count: int, received_base: datetime | None = None) -> list[dict]:
        beats = []
        for _ in range(count):
            self.serial += 1
            user = self.rng.choice([*sorted(self.users), "u-late", "u-nobody"])
            client = self.users.get(user, self.rng.choice(self.clients))
            if user == "u-late":
                client = "c1"
            device = self.rng.choice([d for d, c in self.devices.items() if c == client] or ["d0"])
            received = (received_base or self.now) + timedelta(minutes=self.rng.randint(0, 600))
            generated = received - timedelta(hours=self.rng.randint(0, 60))
            counts = tuple(self.rng.randint(0, 9) for _ in range(5))
            roll = self.rng.random()
            hb_id: str | None = f"hb{self.serial:05d}"
            if roll < 0.05:
                counts = (8e18, 0, 0, 0, 0)
            elif roll < 0.08:
                counts = (-1, 2.5, 0, 0, 0)
            elif roll < 0.11:
                hb_id = None
            beats.append(heartbeat(hb_id, client, user, device, generated, received, counts))
        self.kept += [beat for beat in beats if beat["heartbeat_id"]]
        return beats

    def _late_copies(self):
        """Copies of kept heartbeats arriving now: later-received ones (ignored) and
        copies received before the kept one, delivered long after it (they win)."""
        copies = []
        for original in self.rng.sample(self.kept, k=min(3, len(self.kept))):
            shift = timedelta(minutes=self.rng.choice((-90, -5, 30, 24 * 60 * 6)))
            changed = self.rng.choice(
                [
                    {"chrome_activity_count": 100, "total_activity_count": None},
                    {"generated_at_utc": original["generated_at_utc"] + timedelta(hours=13)},
                    {"user_id": "u-nobody"},
                ]
            )
            copy = original | changed | {"received_at_utc": original["received_at_utc"] + shift}
            if "total_activity_count" in changed:
                copy["total_activity_count"] = sum(copy[key] for key in list(copy)[6:11])
            copies.append(copy)
            if shift < timedelta(0):
                original.update(copy)
        return [("insert", {"heartbeats": copies})]

    def _backfill(self):
        """New heartbeats received long before the newest, written straight into raw."""
        base = self.now - timedelta(days=self.rng.randint(5, 20))
        return [("insert", {"heartbeats": self._new_heartbeats(4, received_base=base)})]


def apply(warehouse: Warehouse, ops: list[tuple[str, object]]) -> None:
    for op, payload in ops:
        if op == "insert":
            insert_raw(warehouse, payload)  # type: ignore[arg-type]
        else:
            table, row = payload  # type: ignore[misc]
            key = f"{table[:-1]}_id"
            if warehouse.backend == "spark":  # no DELETE on parquet: rewrite the table
                kept = [
                    other
                    for other in query(warehouse, f"select * from {RAW_SCHEMA}.{table}")
                    if other[key] != row[key]
                ]
                write_spark_raw(warehouse, table, [*kept, row], overwrite=True)
                continue
            placeholder = "?" if warehouse.backend == "duckdb" else "%s"
            with connection(warehouse) as con:
                con.cursor().execute(
                    f"delete from {RAW_SCHEMA}.{table} where {key} = {placeholder}", [row[key]]
                )
                con.commit()
            insert_raw(warehouse, {table: [row]})


def marts(warehouse: Warehouse) -> dict[str, list[tuple]]:
    def plain(value: object) -> object:
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    return {
        table: sorted(
            (
                tuple(plain(v) for v in row.values())
                for row in query(warehouse, f"select {columns} from {table}")
            ),
            key=repr,
        )
        for table, columns in MARTS.items()
    }


def build_models(warehouse: Warehouse, *, full: bool) -> None:
    """``dbt run`` (``--full-refresh`` when ``full``), asserting every model built.

    ``--no-write-json``: these tests read the marts, never dbt's artifacts, and writing
    manifest.json twice was a sixth of each run's time (0.5 of 3.1 s, measured here).
    """
    args = ["run", "--quiet", "--no-write-json"] + (["--full-refresh"] if full else [])
    outcome = run_dbt(warehouse, args)
    assert outcome.success, outcome.exception or [
        (r.node.name, r.message) for r in outcome.result.results if r.status != "success"
    ]
