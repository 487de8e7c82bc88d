"""Hypothesis strategies: small random facts and random metric requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st

from daybook.semantic import GRANULARITIES, Catalog
from semantic.marts import FactRow, fact_row

CLIENTS = ("c-1", "c-2")
USERS = ("u-1", "u-2", "u-3")
DEVICES = ("d-1", "d-2", "d-3")
# Each example's data sits in a window of WINDOW_DAYS after an anchor day, dense enough
# that one user shows up on several days of a week; anchors cross year and quarter ends.
ANCHOR_FROM, ANCHOR_TO = date(2025, 8, 1), date(2026, 5, 1)
WINDOW_DAYS = 60
MAX_RANGE_DAYS = 90


@dataclass(frozen=True)
class Request:
    """One API-shaped request: which series, for whom, over which days."""

    metric: str
    entity: str
    granularity: str
    tenant_id: str
    entity_id: str
    start: date
    end: date


def anchors() -> st.SearchStrategy[date]:
    return st.dates(min_value=ANCHOR_FROM, max_value=ANCHOR_TO)


@st.composite
def fact_rows(draw: st.DrawFn, anchor: date, max_rows: int = 60) -> list[FactRow]:
    """Rows unique on (client, day, user, device), like the mart's grain."""
    days = st.dates(min_value=anchor, max_value=anchor + timedelta(days=WINDOW_DAYS))
    size = draw(st.integers(min_value=0, max_value=max_rows))
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(CLIENTS), days, st.sampled_from(USERS), st.sampled_from(DEVICES)
            ),
            min_size=size,
            max_size=size,
            unique=True,
        )
    )
    counts = st.tuples(*[st.integers(min_value=0, max_value=30)] * 5)
    return [
        fact_row(client, day, user, device, draw(counts), draw(st.integers(1, 6)))
        for client, day, user, device in keys
    ]


@st.composite
def requests(draw: st.DrawFn, catalog: Catalog, anchor: date, rows: list[FactRow]) -> Request:
    """Any metric, an entity it allows, any granularity, 1..90 days around the data.

    Starts range from 100 days before the data (so some ranges see none of it)
    to the data's last day, on any weekday and any day of a quarter. Half the
    requests aim at an existing row: its tenant and entity, starting or ending
    within a few days of it, to probe the range edges.
    """
    metric = draw(st.sampled_from(list(catalog.metrics.values())))
    entity = draw(st.sampled_from(metric.entities))
    length = draw(st.integers(min_value=0, max_value=MAX_RANGE_DAYS - 1))
    tenant_id = draw(st.sampled_from(CLIENTS))
    entity_id = draw(st.sampled_from(USERS if entity == "user" else DEVICES))
    whole_client = entity == "client"  # the tenant entity: its id is the tenant's
    start = anchor + timedelta(days=draw(st.integers(min_value=-100, max_value=WINDOW_DAYS)))
    if rows and draw(st.booleans()):
        row = draw(st.sampled_from(rows))
        tenant_id, entity_id = row[0], row[2] if entity == "user" else row[3]
        edge = row[1] + timedelta(days=draw(st.integers(min_value=-2, max_value=2)))
        start = edge if draw(st.booleans()) else edge - timedelta(days=length)
    if whole_client:
        entity_id = tenant_id
    return Request(
        metric=metric.name,
        entity=entity,
        granularity=draw(st.sampled_from(GRANULARITIES)),
        tenant_id=tenant_id,
        entity_id=entity_id,
        start=start,
        end=start + timedelta(days=length),
    )
