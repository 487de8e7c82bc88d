"""The small entity tables: clients, users and devices, and who uses which device.

These are a few thousand rows at most, so plain Python is fine here; what
matters is that they carry the shapes the marts must survive: time zones with
DST, half-hour and +14:00 offsets, users created mid-window, several devices
per user and shared devices used by several users of one client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

from daybook.generate.uuids import uuid_strings

# The endpoint documents' example ids, so the spec's curl examples answer.
EXAMPLE_CLIENT_ID = "aa7cf840-9ca9-46a3-9778-9015d6580d50"
EXAMPLE_USER_ID = "a1d97031-04e2-4907-a249-093f7436207b"
EXAMPLE_DEVICE_ID = "f1e2d3c4-b5a6-7890-abcd-ef1234567890"

# Client 0 (the example client) gets the first zone; the first six cover every
# awkward case even in the smallest dataset.
TIME_ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Kiritimati",
    "UTC",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Europe/London",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Auckland",
    "Africa/Johannesburg",
    "Pacific/Honolulu",
    "America/Chicago",
)

_ADJECTIVES = (
    "Northwind", "Blue Harbor", "Granite", "Silver Birch", "Redwood", "Lakeside", "Summit",
    "Copperleaf", "Ironbridge", "Meadowlark", "Brightwater", "Oakridge", "Stonegate", "Crescent",
)  # fmt: skip
_NOUNS = (
    "Logistics", "Health", "Analytics", "Legal", "Studios", "Manufacturing", "Insurance",
    "Foods", "Energy", "Consulting", "Robotics", "Clinics", "Media", "Finance",
)  # fmt: skip
_FIRST = (
    "Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kavya",
    "Liam", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
_LAST = (
    "Adams", "Becker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kumar", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
    "Walsh", "Young", "Zhang",
)  # fmt: skip
_PLATFORMS = np.array(["windows", "macos", "linux", "chromeos"])
_PLATFORM_WEIGHTS = np.array([0.58, 0.27, 0.1, 0.05])


@dataclass
class Entities:
    """Entity ids and the relations the heartbeat generator samples from (index-based)."""

    client_ids: list[str]
    client_timezone: list[str]
    user_ids: list[str]
    user_client: np.ndarray  # user index -> client index
    user_created_day: np.ndarray  # user index -> first window day index it may be active (>= 0)
    user_level: np.ndarray  # how active a user is, 0..1
    user_source_rate: np.ndarray  # (users, 5) mean count per heartbeat of each source
    device_ids: list[str]
    device_client: np.ndarray  # device index -> client index
    user_primary: np.ndarray  # user index -> personal device
    user_secondary: np.ndarray  # user index -> second personal device, or -1
    client_shared: list[np.ndarray]  # client index -> its shared devices
    clients: pa.Table
    users: pa.Table
    devices: pa.Table


def entity_sizes(heartbeats: int, users: int | None = None) -> tuple[int, int]:
    """(clients, users) for a dataset size: ``users``, else about 5,000 heartbeats per user;
    never tiny."""
    users = max(40, users or -(-heartbeats // 5000))
    clients = min(400, max(6, users // 60))
    return clients, users


def build_entities(
    rng: np.random.Generator, heartbeats: int, start: date, days: int, users: int | None = None
) -> Entities:
    """Clients, users and devices sized for ``heartbeats`` over a ``days``-long window."""
    n_clients, n_users = entity_sizes(heartbeats, users)
    window_start = datetime(start.year, start.month, start.day)

    client_ids = uuid_strings(rng, n_clients)
    client_ids[0] = EXAMPLE_CLIENT_ID
    client_tz = [TIME_ZONES[i % len(TIME_ZONES)] for i in range(n_clients)]
    client_created = [
        window_start - timedelta(days=float(d), seconds=int(s))
        for d, s in zip(
            rng.uniform(200, 900, n_clients), rng.integers(0, 86400, n_clients), strict=True
        )
    ]
    client_names = [_client_name(i) for i in range(n_clients)]

    # users per client: skewed, at least two each; users sorted by client
    weights = rng.lognormal(0.0, 0.8, n_clients)
    per_client = 2 + rng.multinomial(n_users - 2 * n_clients, weights / weights.sum())
    user_client = np.repeat(np.arange(n_clients), per_client)
    user_ids = uuid_strings(rng, n_users)
    user_ids[0] = EXAMPLE_USER_ID

    # 85% exist before the window; the rest join during it (dense tables start later)
    joins_late = rng.random(n_users) < 0.15
    joins_late[0] = False
    created_day = np.where(joins_late, rng.integers(0, max(1, int(days * 0.8)), n_users), 0)
    offset_days = np.where(
        joins_late, created_day + rng.uniform(0, 1, n_users), -rng.uniform(1, 400, n_users)
    )
    user_created = [window_start + timedelta(days=float(d)) for d in offset_days]
    user_created = [
        max(created, client_created[c] + timedelta(days=1))
        for created, c in zip(user_created, user_client, strict=True)
    ]
    level = rng.beta(5, 2, n_users)
    level[0] = 1.0

    # per-user source mix: everyone uses desktop apps; one favourite browser each
    base = np.array([4.0, 1.5, 1.0, 6.0, 0.3])
    browser = rng.choice(3, n_users, p=[0.6, 0.25, 0.15])
    mix = np.tile(base, (n_users, 1)) * rng.uniform(0.5, 1.5, (n_users, 5))
    mix[np.arange(n_users), browser] *= 2.5
    mix[:, :3] *= 0.5

    # devices: a primary per user, a second for 30%, shared ones per client
    has_second = rng.random(n_users) < 0.3
    second_owner = np.flatnonzero(has_second)
    shared_count = np.maximum(1, per_client // 8)
    shared_client = np.repeat(np.arange(n_clients), shared_count)
    n_devices = n_users + len(second_owner) + len(shared_client)
    device_ids = uuid_strings(rng, n_devices)
    device_ids[0] = EXAMPLE_DEVICE_ID
    device_client = np.concatenate([user_client, user_client[second_owner], shared_client])
    user_primary = np.arange(n_users)
    user_secondary = np.full(n_users, -1)
    user_secondary[second_owner] = n_users + np.arange(len(second_owner))
    first_shared = n_users + len(second_owner)
    client_shared = np.split(
        first_shared + np.arange(len(shared_client)), np.cumsum(shared_count)[:-1]
    )

    owners = np.concatenate([np.arange(n_users), second_owner])
    device_created = [
        user_created[u] - timedelta(hours=float(h))
        for u, h in zip(owners, rng.uniform(1, 72, len(owners)), strict=True)
    ] + [
        max(client_created[c] + timedelta(days=1), window_start - timedelta(days=float(d)))
        for c, d in zip(shared_client, rng.uniform(1, 300, len(shared_client)), strict=True)
    ]
    platforms = rng.choice(_PLATFORMS, n_devices, p=_PLATFORM_WEIGHTS)
    kinds = ["lt"] * n_users + ["ws"] * len(second_owner) + ["kiosk"] * len(shared_client)
    prefixes = [_short(client_names[c]) for c in device_client]
    hostnames = [f"{prefixes[i]}-{kinds[i]}-{i:05d}" for i in range(n_devices)]

    first = rng.integers(0, len(_FIRST), n_users)
    last = rng.integers(0, len(_LAST), n_users)
    display = [f"{_FIRST[f]} {_LAST[g]}" for f, g in zip(first, last, strict=True)]
    emails = [
        f"{_FIRST[f].lower()}.{_LAST[g].lower()}.{i}@{_short(client_names[c])}.example.com"
        for i, (f, g, c) in enumerate(zip(first, last, user_client, strict=True))
    ]

    return Entities(
        client_ids=client_ids,
        client_timezone=client_tz,
        user_ids=user_ids,
        user_client=user_client,
        user_created_day=created_day,
        user_level=level,
        user_source_rate=mix,
        device_ids=device_ids,
        device_client=device_client,
        user_primary=user_primary,
        user_secondary=user_secondary,
        client_shared=client_shared,
        clients=pa.table(
            {
                "client_id": client_ids,
                "name": client_names,
                "timezone": client_tz,
                "created_at": _seconds(client_created),
            }
        ),
        users=pa.table(
            {
                "user_id": user_ids,
                "client_id": [client_ids[c] for c in user_client],
                "email": emails,
                "display_name": display,
                "created_at": _seconds(user_created),
            }
        ),
        devices=pa.table(
            {
                "device_id": device_ids,
                "client_id": [client_ids[c] for c in device_client],
                "hostname": hostnames,
                "platform": platforms.tolist(),
                "created_at": _seconds(device_created),
            }
        ),
    )


def _client_name(i: int) -> str:
    """A readable, unique company name for client ``i``."""
    adjective = _ADJECTIVES[i % len(_ADJECTIVES)]
    noun = _NOUNS[(i * 5 + i // len(_ADJECTIVES)) % len(_NOUNS)]
    series = i // (len(_ADJECTIVES) * len(_NOUNS))
    return f"{adjective} {noun}" + (f" {series + 1}" if series else "")


def _short(name: str) -> str:
    return "".join(word[:3] for word in name.lower().split())


def _seconds(values: list[datetime]) -> pa.Array:
    return pa.array([v.replace(microsecond=0) for v in values], type=pa.timestamp("us"))
