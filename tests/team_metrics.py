"""A data team's new ratio, cumulative and derived metrics in dbt's spec (issue 16's "Done
when"), and the plain-Python computation of each, for the end-to-end tests of the API, the
CLI (``tests/api/test_api_new_metric_types.py``) and the chart page
(``tests/browser/test_page_new_metric_types.py``).

``NEW_METRICS`` uses only the shipped semantic models and measures; ``write_team_dir`` puts
it beside a copy of the shipped ``semantic/``. ``by_hand`` computes the three metrics
directly from the sample's reference rows (``tests/reference.py``), the rules written out
for these three alone; it imports no Daybook code.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import yaml
from reference import bucket_start, days_between

SHIPPED_SEMANTIC_DIR = Path(__file__).resolve().parents[1] / "semantic"
NEW_FILE = "team_metrics.yml"
NEW_METRICS = """\
# A data team's metrics in dbt's spec, over the shipped semantic models and measures.
metrics:
  - name: macos_activity_share
    label: macOS Share (without Linux)
    description: >-
      Share of the activity on Windows, macOS and ChromeOS devices recorded on macOS
      devices; null where there was none.
    type: ratio
    filter: |
      {{ Dimension('device__platform') }} != 'linux'
    type_params:
      numerator:
        name: activity_count
        alias: macos_activity
        filter: |
          {{ Dimension('device__platform') }} = 'macos'
      denominator: activity_count

  - name: active_users_7d_average
    label: Active Users (7 days, averaged)
    description: >-
      Distinct users active in the 7 days ending on a day; over a week, month or
      quarter, the average of its days in the range.
    type: cumulative
    type_params:
      measure: active_users
      cumulative_type_params:
        window: 7 days
        period_agg: average

  - name: device_count_vs_previous_week
    label: Active Devices vs Previous Week
    description: >-
      Distinct devices in a bucket divided by the distinct devices on the same days one
      week earlier; null when there were none then.
    type: derived
    type_params:
      expr: current_devices / previous_devices
      metrics:
        - name: device_count
          alias: current_devices
        - name: device_count
          alias: previous_devices
          offset_window: 1 week
"""
NEW_SPEC = yaml.safe_load(NEW_METRICS)
LABELS = {m["name"].replace("_", "-"): m["label"] for m in NEW_SPEC["metrics"]}
RATIO, CUMULATIVE, DERIVED = LABELS
# Where each is served, read off the YAML by hand: the entities of the semantic model of
# the measures it reads (activity: user, device, client; device_users: device, client;
# user_devices: user, client).
SERVED_ON = {
    RATIO: ("user", "device", "client"),
    CUMULATIVE: ("device", "client"),
    DERIVED: ("user", "client"),
}


def write_team_dir(folder: Path, text: str = NEW_METRICS) -> Path:
    """A copy of the shipped ``semantic/`` at ``folder`` with ``text`` as the team's file."""
    shutil.copytree(SHIPPED_SEMANTIC_DIR, folder)
    (folder / NEW_FILE).write_text(text, encoding="utf-8")
    return folder


def by_hand(api, metric, entity, client, entity_id, start, end, granularity) -> list[tuple]:
    """The three new metrics computed directly from the sample's rows, as the YAML says."""
    platform = {row["device_id"]: row["platform"] for row in api.devices}
    position = {"client": 0, "user": 2, "device": 3}[entity]
    rows = [
        (key[1], key[2], key[3], values["total_activity_count"])
        for key, values in api.reference.activity.items()
        if key[0] == client and key[position] == (client if entity == "client" else entity_id)
    ]
    buckets: dict[date, list[date]] = {}
    for day in days_between(start, end):
        buckets.setdefault(bucket_start(day, granularity), []).append(day)
    out = []
    for bucket, days in sorted(buckets.items()):
        if metric == RATIO:  # both sides without Linux; the numerator macOS only
            kept = [(d, total, platform.get(v)) for d, _, v, total in rows if d in days]
            denominator = sum(t for _, t, p in kept if p is not None and p != "linux")
            numerator = sum(t for _, t, p in kept if p == "macos")
            value = numerator / denominator if denominator else None
        elif metric == CUMULATIVE:  # trailing 7 days ending on each day, averaged
            daily = [
                len({u for d, u, _, _ in rows if day - timedelta(days=6) <= d <= day})
                for day in days
            ]
            value = sum(daily) / len(daily)
        else:  # distinct devices now over distinct devices on the days a week earlier
            earlier = {day - timedelta(days=7) for day in days}
            current = len({v for d, _, v, _ in rows if d in days})
            previous = len({v for d, _, v, _ in rows if d in earlier})
            value = current / previous if previous else None
        out.append((bucket, value))
    return out
