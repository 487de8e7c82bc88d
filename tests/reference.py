"""An independent, plain-Python reading of the contract, to check the warehouse against.

Nothing here imports Daybook code beyond the raw table layout: the marts, the
compiled metric SQL and the API are all compared with what these few loops
compute from the same raw rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

SOURCES = (
    "chrome_activity_count",
    "edge_activity_count",
    "firefox_activity_count",
    "desktop_activity_count",
    "web_accessibility_activity_count",
)
MEASURES = (*SOURCES, "total_activity_count")

Row = Mapping[str, object]


def local_day(generated_at_utc: datetime, timezone: str) -> date:
    """The calendar day of a UTC instant in an IANA time zone."""
    return generated_at_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def created_day(created_at: datetime | None, timezone: str) -> date | None:
    """An entity's local creation day: none without a creation time or with one outside
    the times that have a calendar day on every warehouse (as for heartbeats)."""
    if created_at is None or not has_calendar_day(created_at):
        return None
    return local_day(created_at, timezone)


def has_calendar_day(utc: datetime) -> bool:
    """From 0001-01-02 to before 9999-12-30 UTC (docs/ARCHITECTURE.md, validity reasons)."""
    return FIRST_GENERATED <= utc.replace(tzinfo=None) < END_GENERATED


def _present(value: object) -> bool:
    return value is not None and value != ""


MAX_COUNT = 2_147_483_647  # contract section 1: every count is an integer from 0 to this
# UTC times whose local day is a calendar day in any zone, with a day past it for the date
# spine (docs/ARCHITECTURE.md, validity reasons): a heartbeat outside is quarantined, an
# entity created outside has no creation day
FIRST_GENERATED, END_GENERATED = datetime(1, 1, 2), datetime(9999, 12, 30)


def _is_count(value: object) -> bool:
    if value is None:
        return False
    number = float(value)  # type: ignore[arg-type]
    return math.isfinite(number) and 0 <= number <= MAX_COUNT and number == int(number)


def _is_too_large(value: object) -> bool:
    """A number above the contract's bound (infinity included; NaN is not a number above)."""
    return value is not None and float(value) > MAX_COUNT  # type: ignore[arg-type]


# The IANA tz database's zone names (read once: it scans the disk); `localtime` is this
# machine's own zone file, not a name of the database
IANA_ZONES = frozenset(available_timezones()) - {"localtime"}


def invalid_reasons(
    hb: Row,
    clients: Mapping,
    users: Mapping,
    devices: Mapping,
    _zones: frozenset[str] = frozenset(IANA_ZONES),
) -> list[str]:
    """Why a heartbeat is invalid under contract section 1 (empty when it is valid)."""
    reasons = []
    ids = ("heartbeat_id", "client_id", "user_id", "device_id")
    if not all(_present(hb[key]) for key in ids):
        reasons.append("missing_id")
    if _present(hb["client_id"]) and hb["client_id"] not in clients:
        reasons.append("unknown_client")
    elif _present(hb["client_id"]) and clients[hb["client_id"]]["timezone"] not in _zones:
        reasons.append("invalid_client_timezone")  # no zone, no local day
    if _present(hb["user_id"]):
        user = users.get(hb["user_id"])
        if user is None:
            reasons.append("unknown_user")
        elif user["client_id"] != hb["client_id"]:
            reasons.append("user_client_mismatch")
    if _present(hb["device_id"]):
        device = devices.get(hb["device_id"])
        if device is None:
            reasons.append("unknown_device")
        elif device["client_id"] != hb["client_id"]:
            reasons.append("device_client_mismatch")
    counts_ok = all(_is_count(hb[key]) for key in MEASURES)
    if any(not _is_count(hb[key]) and not _is_too_large(hb[key]) for key in MEASURES):
        reasons.append("invalid_count")
    if any(_is_too_large(hb[key]) for key in MEASURES):
        reasons.append("count_out_of_range")
    if counts_ok and sum(float(hb[key]) for key in SOURCES) != float(hb["total_activity_count"]):
        reasons.append("total_mismatch")
    if hb["generated_at_utc"] is None:
        reasons.append("missing_generated_at")
    elif not has_calendar_day(hb["generated_at_utc"]):
        reasons.append("generated_at_out_of_range")
    return reasons


@dataclass
class Reference:
    """What the marts must hold, computed from raw rows."""

    valid: list[dict] = field(default_factory=list)
    quarantined: list[tuple[dict, list[str]]] = field(default_factory=list)
    # (client_id, local_day, user_id, device_id) -> measure -> value, plus heartbeat_count
    activity: dict[tuple, dict[str, int]] = field(default_factory=dict)
    duplicates_dropped: int = 0

    def user_days(self) -> dict[tuple[str, str, date], dict[str, int]]:
        """(client, user, day) -> summed measures, heartbeat_count and device_count."""
        out: dict = defaultdict(lambda: defaultdict(int))
        devices: dict = defaultdict(set)
        for (client, day, user, device), values in self.activity.items():
            for key, value in values.items():
                out[(client, user, day)][key] += value
            devices[(client, user, day)].add(device)
        for key, device_set in devices.items():
            out[key]["device_count"] = len(device_set)
        return {key: dict(values) for key, values in out.items()}

    def device_days(self) -> dict[tuple[str, str, date], dict[str, int]]:
        """(client, device, day) -> summed measures, heartbeat_count and user_count."""
        out: dict = defaultdict(lambda: defaultdict(int))
        users: dict = defaultdict(set)
        for (client, day, user, device), values in self.activity.items():
            for key, value in values.items():
                out[(client, device, day)][key] += value
            users[(client, device, day)].add(user)
        for key, user_set in users.items():
            out[key]["user_count"] = len(user_set)
        return {key: dict(values) for key, values in out.items()}


def compute(
    clients: Iterable[Row], users: Iterable[Row], devices: Iterable[Row], heartbeats: Iterable[Row]
) -> Reference:
    """Deduplicate, validate and aggregate raw rows to the grain of ``fct_activity_daily``."""
    client_by_id = {row["client_id"]: dict(row) for row in clients}
    user_by_id = {row["user_id"]: dict(row) for row in users}
    device_by_id = {row["device_id"]: dict(row) for row in devices}

    earliest: dict[object, dict] = {}
    anonymous: list[dict] = []
    total_rows = 0
    for row in heartbeats:
        total_rows += 1
        hb = dict(row)
        key = hb["heartbeat_id"]
        if not _present(key):
            anonymous.append(hb)
            continue
        kept = earliest.get(key)
        if kept is None or _received_sort_key(hb) < _received_sort_key(kept):
            earliest[key] = hb

    ref = Reference()
    distinct = [*earliest.values(), *anonymous]
    ref.duplicates_dropped = total_rows - len(distinct)
    activity: dict = defaultdict(lambda: defaultdict(int))
    for hb in distinct:
        reasons = invalid_reasons(hb, client_by_id, user_by_id, device_by_id)
        if reasons:
            ref.quarantined.append((hb, reasons))
            continue
        ref.valid.append(hb)
        timezone = client_by_id[hb["client_id"]]["timezone"]
        day = local_day(hb["generated_at_utc"], timezone)
        cell = activity[(hb["client_id"], day, hb["user_id"], hb["device_id"])]
        for measure in MEASURES:
            cell[measure] += int(hb[measure])
        cell["heartbeat_count"] += 1
    ref.activity = {key: dict(values) for key, values in activity.items()}
    return ref


def newest_received_by_client(ref: Reference) -> dict[str, datetime]:
    """Each client id's newest received time among the heartbeats kept after deduplication
    (valid or quarantined): that client's answers' ``Last-Modified``."""
    newest: dict[str, datetime] = {}
    for row in [row for row, _ in ref.quarantined] + ref.valid:
        client, received = row["client_id"], row["received_at_utc"]
        if client is not None and received is not None:
            newest[client] = max(received, newest.get(client, received))
    return newest


def _received_sort_key(hb: Row) -> tuple:
    received = hb["received_at_utc"]
    return (received is None, received or datetime.min)


# --- time buckets and metric series ------------------------------------------------------

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")


# The month each month's quarter starts in, written out (January..December).
QUARTER_FIRST_MONTH = (1, 1, 1, 4, 4, 4, 7, 7, 7, 10, 10, 10)


def bucket_start(day: date, granularity: str) -> date:
    """First day of the bucket holding ``day``: the day, ISO Monday, month or quarter start.

    Computed differently from ``daybook.semantic.calendar`` on purpose (ISO
    calendar for weeks, a month table for quarters), so the two check each other.
    """
    if granularity == "daily":
        return day
    if granularity == "weekly":
        iso_year, iso_week, _ = day.isocalendar()
        return date.fromisocalendar(iso_year, iso_week, 1)
    if granularity == "monthly":
        return date(day.year, day.month, 1)
    if granularity == "quarterly":
        return date(day.year, QUARTER_FIRST_MONTH[day.month - 1], 1)
    raise ValueError(granularity)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def series(
    ref: Reference,
    *,
    entity: str,
    client_id: str,
    entity_id: str,
    metric: str,
    start: date,
    end: date,
    granularity: str,
) -> list[tuple[date, int]]:
    """The contract's answer for one request: one (bucket start, value) per overlapping bucket.

    ``metric`` is an API metric name: ``activity-count``, ``user-count``,
    ``device-count`` or ``<source>-activity`` for a per-source sum.
    """
    entity_position = 2 if entity == "user" else 3
    buckets: dict[date, list] = {}
    for day in days_between(start, end):
        buckets.setdefault(bucket_start(day, granularity), [])
    for key, values in ref.activity.items():
        client, day, _user, _device = key
        if client != client_id or key[entity_position] != entity_id or not start <= day <= end:
            continue
        buckets[bucket_start(day, granularity)].append((key, values))
    return [(bucket, _metric_value(metric, cells)) for bucket, cells in sorted(buckets.items())]


def _metric_value(metric: str, cells: list) -> int:
    if metric == "user-count":
        return len({key[2] for key, _ in cells})
    if metric == "device-count":
        return len({key[3] for key, _ in cells})
    column = (
        "total_activity_count"
        if metric == "activity-count"
        else metric.removesuffix("-activity").replace("-", "_") + "_activity_count"
    )
    return sum(values[column] for _, values in cells)


def client_series(
    ref: Reference,
    *,
    client_id: str,
    metric: str,
    start: date,
    end: date,
    granularity: str,
) -> list[tuple[date, int]]:
    """The client-wide answer (issue 16): every user and device of one client, per bucket.

    Same metric names as :func:`series`; ``user-count`` is then the client's distinct
    active users in the bucket (DAU, WAU, MAU), never a sum of finer buckets.
    """
    buckets: dict[date, list] = {}
    for day in days_between(start, end):
        buckets.setdefault(bucket_start(day, granularity), [])
    for key, values in ref.activity.items():
        client, day, _user, _device = key
        if client == client_id and start <= day <= end:
            buckets[bucket_start(day, granularity)].append((key, values))
    return [(bucket, _metric_value(metric, cells)) for bucket, cells in sorted(buckets.items())]


def computes(metric: str) -> bool:
    """Whether :func:`series` and :func:`client_series` compute ``metric``: the simple
    metrics (``activity-count``, ``user-count``, ``device-count``, ``<source>-activity``).
    dbt's other metric types are ``tests/reference_metrics.py``'s."""
    per_source = metric.removesuffix("-activity").replace("-", "_") + "_activity_count"
    return metric in {"activity-count", "user-count", "device-count"} or (
        metric.endswith("-activity") and per_source in SOURCES
    )
