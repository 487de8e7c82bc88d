"""The bench's requests by metric kind, and its floors, over the session's sample warehouse.

The runs by metric kind time each request on the API, the bare floor app and the driver
floor, for users, devices and the client-wide series. No timing here: every sampled
request must ask about an entity with activity (for the client-wide series, a client of
the loaded data, on ``/v2/clients/{client_id}/analytics/activity``), and the API and the
bare floor must both answer it as the independent reference does, so a floor never
measures a different (or failing) question than the API it is beside. (The driver floor
runs the bare floor's SQL and parameters; it opens the DuckDB snapshot with a
configuration this process's in-process API already holds differently, so it is checked
by the bench smoke test, in its own process.)
"""

from __future__ import annotations

import math

from served_api import expected_body

from daybook.bench.bare import create_bare_app
from daybook.bench.requests import METRIC_KINDS, sample_kind_requests
from daybook.semantic import load_catalog


def _same_value(got: object, want: object) -> bool:
    """The bare app sends the driver's values as they come (a PostgreSQL numeric as text)."""
    if want is None or got is None:
        return got is want
    return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)


def test_kind_requests_and_their_floors_answer_as_the_reference(api, monkeypatch) -> None:
    catalog = load_catalog()
    groups, _ = sample_kind_requests(api.warehouse, catalog, per_group=3)
    # the client-wide series is measured, with every kind (the shipped catalogue has them)
    assert {kind for entity, kind in groups if entity == "client"} == set(METRIC_KINDS)
    assert {entity for entity, _ in groups} == {"user", "device", "client"}
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", api.warehouse.url)
    bare = create_bare_app(pool_size=1).test_client()
    token = api.token()
    for (entity, kind), requests in groups.items():
        active = api.active_entities(entity)
        for request in requests:
            if entity == "client":
                assert request.entity_id is None
                assert request.api_path().startswith(
                    f"/v2/clients/{request.client_id}/analytics/activity?"
                )
                entity_id = request.client_id
            else:
                entity_id = request.entity_id
            assert (request.client_id, entity_id) in active, (entity, kind)
            assert (request.end - request.start).days == 89
            want = expected_body(
                api,
                entity,
                request.client_id,
                entity_id,
                request.metric,
                request.start,
                request.end,
                request.granularity,
            )
            answer = api.get(request.api_path(), token)
            assert answer.status_code == 200, answer.text
            assert answer.json() == want, (entity, kind, request)
            floor = bare.get(request.bare_path())
            assert floor.status_code == 200, floor.get_data(as_text=True)
            points = floor.get_json()["data"]
            assert [p["date"] for p in points] == [p["date"] for p in want["data"]]
            assert all(
                _same_value(got["value"], point["value"])
                for got, point in zip(points, want["data"], strict=True)
            ), (entity, kind, request)
