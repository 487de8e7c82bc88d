"""One chunk of heartbeat rows, built column-wise with numpy and handed to Arrow.

A chunk is a contiguous run of planned user-days. Everything is vectorised:
times come from a cumulative sum of per-heartbeat gaps, devices from per-day
choices, counts from Poisson draws; then duplicate deliveries, late arrivals
and invalid rows are mixed in by index arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from daybook.generate.activity import Plan
from daybook.generate.entities import Entities
from daybook.generate.uuids import chars_to_arrow, uuid_chars, uuid_strings
from daybook.raw_schema import RAW_TABLES, SOURCE_COUNT_COLUMNS

DUPLICATE_SHARE = 0.02
INVALID_SHARE = 0.005
LATE_SHARE = 0.015
INVALID_KINDS = (
    "missing_heartbeat_id",
    "missing_client_id",
    "missing_user_id",
    "missing_device_id",
    "unknown_client",
    "unknown_user",
    "unknown_device",
    "user_client_mismatch",
    "device_client_mismatch",
    "negative_count",
    "fractional_count",
    "null_count",
    "total_mismatch",
    "missing_generated_at",
)
_UNKNOWN_POOL = 64
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class IdTables:
    """Arrow id columns to ``take`` from: the entities, then unknown ids, then one null."""

    clients: pa.Array
    users: pa.Array
    devices: pa.Array

    @classmethod
    def build(cls, rng: np.random.Generator, entities: Entities) -> IdTables:
        def table(ids: list[str]) -> pa.Array:
            return pa.array([*ids, *uuid_strings(rng, _UNKNOWN_POOL), None], type=pa.string())

        return cls(table(entities.client_ids), table(entities.user_ids), table(entities.device_ids))


def build_chunk(
    rng: np.random.Generator,
    entities: Entities,
    ids: IdTables,
    plan: Plan,
    rows: slice,
    duplicates: int,
    min_invalid_per_kind: int = 0,
) -> pa.Table:
    """Heartbeats for the planned user-days ``rows``, plus ``duplicates`` re-deliveries."""
    day = plan.day[rows]
    user = plan.user[rows]
    count = plan.count[rows]
    n_days = len(day)
    n = int(count.sum())
    client = entities.user_client[user]

    # per user-day: first heartbeat of the day (local), devices, split between two devices
    weekend = ((day + plan.start.weekday()) % 7) >= 5
    first = np.where(
        weekend, rng.normal(11 * 3600, 2 * 3600, n_days), rng.normal(10 * 3600, 2 * 3600, n_days)
    )
    first = np.clip(first, 6 * 3600, 18 * 3600)
    device_a, device_b = _day_devices(rng, entities, user, client)
    split = rng.random(n_days) < 0.12

    # per heartbeat: position within its day, time = day start + cumulative gaps
    which = np.repeat(np.arange(n_days), count)
    day_first_row = np.cumsum(count) - count
    position = np.arange(n) - day_first_row[which]
    gaps = 60 + rng.exponential(150, n)
    breaks = rng.random(n) < 0.03
    gaps[breaks] += rng.uniform(15 * 60, 90 * 60, int(breaks.sum()))
    gaps[day_first_row] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[day_first_row][which]
    local_seconds = first[which] + elapsed
    day_epoch = (np.datetime64(plan.start, "D") - _EPOCH).astype(np.int64) + day
    offset = plan.utc_offset[client, day]
    generated = day_epoch[which] * 86400 + local_seconds.astype(np.int64) - offset[which]
    late = rng.random(n) < LATE_SHARE
    delay = 1 + rng.exponential(20, n)
    delay[late] += rng.uniform(86400, 10 * 86400, int(late.sum()))
    received = generated + delay.astype(np.int64)

    hb_user = user[which]
    hb_client = client[which]
    hb_device = np.where(
        split[which] & (position >= count[which] // 2), device_b[which], device_a[which]
    )
    # counts: uniform integers on 0..2*rate (mean ~rate); cheaper than Poisson at 100M rows
    spread = (2 * entities.user_source_rate + 1).astype(np.float32)[hb_user]
    counts = np.floor(rng.random((n, len(SOURCE_COUNT_COLUMNS)), dtype=np.float32) * spread)
    counts = counts.astype(np.float64)

    columns = {
        "heartbeat_id": uuid_chars(rng, n),
        "client": hb_client.astype(np.int64),
        "user": hb_user.astype(np.int64),
        "device": hb_device.astype(np.int64),
        "generated": generated,
        "generated_valid": np.ones(n, dtype=bool),
        "received": received,
        "counts": counts,
        "total": counts.sum(axis=1),
    }
    _make_invalid(rng, entities, columns, n, min_invalid_per_kind)
    _add_duplicates(rng, columns, n, duplicates)
    return _to_arrow(columns, ids, entities)


def _day_devices(
    rng: np.random.Generator, entities: Entities, user: np.ndarray, client: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Main and second device for each user-day: mostly their own laptop, sometimes shared."""
    n = len(user)
    primary = entities.user_primary[user]
    secondary = entities.user_secondary[user]
    shared = _shared_device(rng, entities, client)
    pick = rng.random(n)
    own_second = np.where(secondary >= 0, secondary, primary)
    device_a = np.where(pick < 0.8, primary, np.where(pick < 0.92, own_second, shared))
    device_b = np.where(device_a == primary, np.where(secondary >= 0, secondary, shared), primary)
    return device_a, device_b


def _shared_device(rng: np.random.Generator, entities: Entities, client: np.ndarray) -> np.ndarray:
    starts = np.array([group[0] for group in entities.client_shared])
    sizes = np.array([len(group) for group in entities.client_shared])
    return starts[client] + (rng.random(len(client)) * sizes[client]).astype(np.int64)


def _other(rng: np.random.Generator, owner: np.ndarray, client: np.ndarray) -> np.ndarray:
    """For each row, a random entity (index into ``owner``) that belongs to a different client."""
    picked = rng.integers(0, len(owner), len(client))
    for _ in range(64):
        same = owner[picked] == client
        if not same.any():
            break
        picked[same] = rng.integers(0, len(owner), int(same.sum()))
    return picked


def _make_invalid(
    rng: np.random.Generator, entities: Entities, cols: dict, n: int, min_per_kind: int
) -> None:
    """Turn a small share of rows into each invalid kind the contract's validity rule names."""
    kinds = len(INVALID_KINDS)
    wanted = max(round(n * INVALID_SHARE), min_per_kind * kinds)
    wanted = min(wanted, n // 4)
    if wanted == 0:
        return
    rows = rng.choice(n, wanted, replace=False)
    kind = np.arange(wanted) % kinds
    null_client = len(entities.client_ids) + _UNKNOWN_POOL
    null_user = len(entities.user_ids) + _UNKNOWN_POOL
    null_device = len(entities.device_ids) + _UNKNOWN_POOL

    def of(name: str) -> np.ndarray:
        return rows[kind == INVALID_KINDS.index(name)]

    valid_ids = np.ones(n, dtype=bool)
    valid_ids[of("missing_heartbeat_id")] = False
    cols["heartbeat_id_valid"] = valid_ids
    cols["client"][of("missing_client_id")] = null_client
    cols["user"][of("missing_user_id")] = null_user
    cols["device"][of("missing_device_id")] = null_device
    for key, table_size in (
        ("client", len(entities.client_ids)),
        ("user", len(entities.user_ids)),
        ("device", len(entities.device_ids)),
    ):
        target = of(f"unknown_{key}")
        cols[key][target] = table_size + rng.integers(0, _UNKNOWN_POOL, len(target))
    target = of("user_client_mismatch")
    cols["user"][target] = _other(rng, entities.user_client, cols["client"][target])
    target = of("device_client_mismatch")
    cols["device"][target] = _other(rng, entities.device_client, cols["client"][target])

    counts, source = cols["counts"], rng.integers(0, len(SOURCE_COUNT_COLUMNS), n)
    target = of("negative_count")
    counts[target, source[target]] = -1 - rng.integers(0, 5, len(target))
    target = of("fractional_count")
    counts[target, source[target]] += 0.5
    cols["total"][of("negative_count")] = counts[of("negative_count")].sum(axis=1)
    cols["total"][of("fractional_count")] = counts[of("fractional_count")].sum(axis=1)
    target = of("null_count")
    counts[target, source[target]] = np.nan
    target = of("total_mismatch")
    cols["total"][target] += rng.integers(1, 6, len(target))
    cols["generated_valid"][of("missing_generated_at")] = False


def _add_duplicates(rng: np.random.Generator, cols: dict, n: int, duplicates: int) -> None:
    """Append re-deliveries: copies of earlier rows, received later (seconds to days)."""
    if duplicates <= 0 or n == 0:
        return
    # distinct sources, so no two deliveries of a heartbeat are identical rows
    source = rng.choice(n, duplicates, replace=duplicates > n)
    later = 1 + rng.exponential(300, duplicates)
    retried = rng.random(duplicates) < 0.1
    later[retried] += rng.uniform(3600, 3 * 86400, int(retried.sum()))
    for key, values in cols.items():
        extra = values[source]
        if key == "received":
            extra = extra + later.astype(np.int64)
        cols[key] = np.concatenate([values, extra])


def _to_arrow(cols: dict, ids: IdTables, entities: Entities) -> pa.Table:
    us = pa.timestamp("us")
    counts = cols["counts"]
    arrays = {
        "heartbeat_id": chars_to_arrow(cols["heartbeat_id"], cols.get("heartbeat_id_valid")),
        "client_id": _dictionary(cols["client"], ids.clients),
        "user_id": _dictionary(cols["user"], ids.users),
        "device_id": _dictionary(cols["device"], ids.devices),
        "generated_at_utc": pa.array(
            cols["generated"] * 1_000_000, type=us, mask=~cols["generated_valid"]
        ),
        "received_at_utc": pa.array(cols["received"] * 1_000_000, type=us),
    }
    for i, name in enumerate(SOURCE_COUNT_COLUMNS):
        column = np.ascontiguousarray(counts[:, i])
        arrays[name] = pa.array(column, mask=np.isnan(column))
    arrays["total_activity_count"] = pa.array(cols["total"], mask=np.isnan(cols["total"]))
    return pa.table({name: arrays[name] for name in RAW_TABLES["heartbeats"].column_names})


def _dictionary(indices: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
    """Id column as dictionary indices into ``values``: no per-row string copies to write."""
    null = len(values) - 1  # the id tables end with one null entry
    index = pa.array(indices.astype(np.int32), mask=indices == null)
    return pa.DictionaryArray.from_arrays(index, values.slice(0, null))
