"""The benchmark's request mix: real ids, every metric and granularity, 90-day ranges.

Requests are grouped by (entity, granularity); each group rotates through
every metric of that entity over sampled ids and ranges, so one load run
covers "every metric" for that endpoint and granularity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from daybook.config import Warehouse

GRANULARITIES = ("daily", "weekly", "monthly", "quarterly")
RANGE_DAYS = 90


@dataclass(frozen=True)
class Request:
    entity: str
    metric: str
    granularity: str
    client_id: str
    entity_id: str
    start: date
    end: date

    def api_path(self) -> str:
        query = urlencode(
            {
                "metric": self.metric,
                "granularity": self.granularity,
                "start_date": self.start.isoformat(),
                "end_date": self.end.isoformat(),
            }
        )
        return (
            f"/v2/clients/{self.client_id}/analytics/{self.entity}s/{self.entity_id}/activity?"
            + query
        )

    def bare_path(self) -> str:
        query = urlencode(
            {
                "metric": self.metric,
                "granularity": self.granularity,
                "start_date": self.start.isoformat(),
                "end_date": self.end.isoformat(),
            }
        )
        return f"/bare/{self.entity}/{self.client_id}/{self.entity_id}?{query}"


def _rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    from daybook.bench.served import served_rows

    return served_rows(warehouse, sql)


def sample_requests(
    warehouse: Warehouse,
    catalog: Any,
    *,
    granularities: tuple[str, ...] = GRANULARITIES,
    per_group: int = 64,
    seed: int = 5,
) -> dict[tuple[str, str], list[Request]]:
    """Requests per (entity, granularity), ids of active entities, 90-day inclusive ranges.

    The entities are those of the activity fact (the registry's, ``catalog.registry``),
    the ids those with activity in it.
    """
    rng = random.Random(seed)
    registry = catalog.registry
    activity, day = registry.activity.model, registry.day_column
    first, last = _rows(warehouse, f"select min({day}), max({day}) from {activity}")[0]
    span = max(0, (last - first).days - (RANGE_DAYS - 1))
    groups: dict[tuple[str, str], list[Request]] = {}
    for described in registry.activity_entities():
        entity, tenant, key = described.name, described.tenant_key, described.key
        ids = _rows(
            warehouse,
            f"select {tenant}, {key} from (select distinct {tenant}, {key} "
            f"from {activity}) as active order by {tenant}, {key}",
        )
        metrics = [metric.name for metric in catalog.metrics_for(entity)]
        for granularity in granularities:
            batch = []
            for index in range(per_group):
                client_id, entity_id = ids[rng.randrange(len(ids))]
                start = first + timedelta(days=rng.randint(0, span))
                batch.append(
                    Request(
                        entity,
                        metrics[index % len(metrics)],
                        granularity,
                        client_id,
                        entity_id,
                        start,
                        start + timedelta(days=RANGE_DAYS - 1),
                    )
                )
            groups[(entity, granularity)] = batch
    return groups
