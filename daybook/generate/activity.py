"""Who is active on which local day, and how many heartbeats each active user-day sends.

The plan is a small table of user-days (users x days at most a few million
cells), decided up front so that the heartbeat total is exact and chunks can be
generated independently, each from its own seeded stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from daybook.generate.entities import Entities

# Monday..Sunday: busy weekdays, a little weekend work
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 0.97, 0.85, 0.1, 0.06])
MEAN_HEARTBEATS_PER_ACTIVE_DAY = 25.0
EXAMPLE_WINDOW = (date(2026, 1, 1), date(2026, 1, 15))


@dataclass
class Plan:
    """Active user-days in day-major order, with their heartbeat counts (all > 0)."""

    day: np.ndarray  # window day index
    user: np.ndarray  # user index
    count: np.ndarray  # heartbeats on that user-day
    start: date
    utc_offset: np.ndarray  # (clients, days) seconds east of UTC at local noon


def plan_activity(
    rng: np.random.Generator,
    entities: Entities,
    heartbeats: int,
    start: date,
    days: int,
    per_active_day: float = MEAN_HEARTBEATS_PER_ACTIVE_DAY,
) -> Plan:
    """Choose active user-days and split exactly ``heartbeats`` rows among them."""
    n_users = len(entities.user_ids)
    weekday = (np.arange(days) + start.weekday()) % 7
    factor = WEEKDAY_FACTOR[weekday][None, :] * entities.user_level[:, None]
    factor = factor * (np.arange(days)[None, :] > entities.user_created_day[:, None])
    factor[0, :] = np.maximum(factor[0, :], 1.0 if heartbeats else 0.0)
    # scale the chance of being active so that active days carry ~per_active_day heartbeats
    # each; when even near-daily activity is not enough, the days get busier instead
    base = min(1.0, heartbeats / max(1.0, factor.sum() * per_active_day))
    active = rng.random((n_users, days)) < np.minimum(0.97, base * factor)
    example_days = [(d - start).days for d in EXAMPLE_WINDOW]
    lo, hi = max(0, example_days[0]), min(days - 1, example_days[1])
    if lo <= hi:  # the example user works every weekday of the spec's example window
        active[0, lo : hi + 1] |= weekday[lo : hi + 1] < 5
    if not active.any():
        active[0, 0] = True

    day_idx, user_idx = np.nonzero(active.T)  # day-major, so chunks are time slices
    weight = rng.gamma(2.0, 0.5, len(day_idx)) * (0.3 + entities.user_level[user_idx])
    count = rng.multinomial(heartbeats, weight / weight.sum()) if heartbeats else np.zeros(0, int)
    keep = count > 0
    return Plan(
        day=day_idx[keep].astype(np.int32),
        user=user_idx[keep].astype(np.int32),
        count=count[keep].astype(np.int64),
        start=start,
        utc_offset=_offsets(entities.client_timezone, start, days),
    )


def _offsets(time_zones: list[str], start: date, days: int) -> np.ndarray:
    """UTC offset in seconds of each client's zone at local noon of each window day (DST-aware)."""
    by_zone: dict[str, np.ndarray] = {}
    for name in set(time_zones):
        zone = ZoneInfo(name)
        by_zone[name] = np.array(
            [
                datetime.combine(start + timedelta(days=d), datetime.min.time())
                .replace(hour=12, tzinfo=zone)
                .utcoffset()
                .total_seconds()
                for d in range(days)
            ],
            dtype=np.int64,
        )
    return np.stack([by_zone[name] for name in time_zones])
