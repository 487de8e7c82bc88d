"""The activity endpoints of contract section 4, one per entity of the semantic catalogue.

Check order: authentication (the blueprint's before-request hook, 401), then
path and query validation by flask-openapi3 (400), then the token's grant
(403), then the answer cache, then existence of the client and the entity under
it (404, from ids known at the data version: ``api.known_ids``), then the compiled
metric query. On PostgreSQL, a question not in the answer cache reads the token, the
data version and the series in one statement, before the checks after 401 run on
what it read (``activity_series``); what each caller gets is the same.

How the routes are declared. Entities come from the YAML catalogue (adding one
is a YAML edit), and each entity's operation lists its own metric enum, so the
path and query models are made per entity at start-up. flask-openapi3 (4.x)
takes a view's models only from its type hints (``get_type_hints``) and keeps
the wrapped view on the function object (``func.view``), so one function
object cannot serve two routes with different models. The blueprint
therefore declares the view, ``entity_activity``, with ordinary decorators
inside :func:`_add_entity_route`, called once per catalogue entity by the
explicit loop in :func:`activity_blueprint`: each call defines a fresh
function whose annotations are that entity's models. The trade-off: the
literal URL of a route (``.../users/<user_id>/activity``) is not in the
source, only its pattern; ``git grep entity_activity`` or the pattern finds
it, and ``/v2/openapi.json`` lists every route.

The tenant entity (``client``: its key is its tenant key) is the client-wide series,
``/v2/clients/<client_id>/analytics/activity``: the same view with the client's id as
the entity id, so the same checks, cache and answer apply.
"""

# No `from __future__ import annotations`: flask-openapi3 resolves the views' annotations
# with get_type_hints, which cannot see the per-entity models made in _add_entity_route.

import json
import math
from datetime import date
from functools import lru_cache

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag

from api import request_state
from api.activity_models import (
    ActivityQuery,
    ActivitySeries,
    client_path_model,
    path_model,
    query_model,
)
from api.auth import (
    authenticated_blueprint,
    fetch_with_token,
    finish_deferred,
    require_client,
)
from api.errors import ApiError
from api.services import Services, current_services
from api.warehouse_reader import as_day
from daybook.semantic import Catalog, CompiledQuery
from daybook.semantic.calendar import bucket_starts

API_SHAPE = "buckets"  # compiled queries return the buckets holding data; fill() does the rest
BUCKET_COLUMNS = 2  # the columns of that shape: bucket start, value


def activity_blueprint(catalog: Catalog, max_range_days: int) -> APIBlueprint:
    """One activity route per entity of the catalogue, each with that entity's metrics."""
    tag = Tag(name="activity", description="Activity time series")
    blueprint = authenticated_blueprint("activity", __name__, tag, deferred=True)
    for entity in catalog.entities:
        _add_entity_route(blueprint, catalog, entity, max_range_days)
    return blueprint


def _add_entity_route(
    blueprint: APIBlueprint, catalog: Catalog, entity: str, max_range_days: int
) -> None:
    """``GET /v2/clients/<client_id>/analytics/<entity>s/<<entity>_id>/activity``, or for
    the tenant entity ``GET /v2/clients/<client_id>/analytics/activity``."""
    spec = catalog.entities[entity]
    metrics = catalog.metrics_for(entity)
    lines = "\n".join(f"- `{m.name}` ({m.label}): {m.description}" for m in metrics)
    whole_client = spec.key == spec.tenant_key
    EntityPath = client_path_model(entity) if whole_client else path_model(entity)
    EntityQuery = query_model(entity, [m.name for m in metrics], max_range_days)
    if whole_client:
        rule, summary = "/clients/<client_id>/analytics/activity", "Client-wide"
        scope = "the whole client (every user and device)"
    else:
        rule = f"/clients/<client_id>/analytics/{spec.plural}/<{entity}_id>/activity"
        summary, scope = entity.title(), f"one {entity}"

    @blueprint.get(
        rule,
        endpoint=f"{entity}_activity",
        operation_id=f"get{entity.title()}Activity",
        summary=f"{summary} activity time series",
        description=(
            f"One point per bucket overlapping the range, oldest first, for {scope}. "
            f"Counts and sums are integers (0 where there was no activity); ratio, derived "
            f"and average metrics are numbers, null where they have no value. "
            f"The range is at most {max_range_days} days, end inclusive; "
            f"granularity defaults to daily.\n\nMetrics:\n{lines}"
        ),
        responses={200: ActivitySeries},
        provide_automatic_options=False,  # no empty text/html OPTIONS answers
    )
    def entity_activity(path: EntityPath, query: EntityQuery) -> Response:  # type: ignore[valid-type]
        entity_id = path.client_id if whole_client else getattr(path, f"{entity}_id")
        return activity_series(entity, path.client_id, entity_id, query)


def activity_series(entity: str, client_id: str, entity_id: str, query: ActivityQuery) -> Response:
    """Answer one request whose parameters are valid: grant, then the cache or the query.

    On PostgreSQL a question the answer cache does not hold reads the token, the
    data state and the series in one round trip (``auth.fetch_with_token``), then
    runs the same checks in the same order on what it read; a question it holds
    verifies the token with the data state (one round trip) and serves the cached
    answer when that is at the current version.
    """
    services = current_services()
    key = (
        entity,
        client_id,
        entity_id,
        query.metric,
        query.granularity,
        query.start_date,
        query.end_date,
    )
    compiled = services.catalog.compile(
        metric=query.metric,
        entity=entity,
        granularity=query.granularity,
        dialect=services.reader.dialect,
        shape=API_SHAPE,
    )
    parameters = compiled.parameters(
        tenant_id=client_id,
        entity_id=entity_id,
        start_date=query.start_date,
        end_date=query.end_date,
    )
    rows = None
    if request_state.deferred_token() is not None and isinstance(parameters, dict):
        if services.answers.holds(key):
            finish_deferred()
        else:
            rows = fetch_with_token(client_id, compiled.sql, BUCKET_COLUMNS, parameters)
    require_client(client_id)
    version = request_state.current().version
    if rows is None:
        body = services.answers.get(key, version)
        if body is not None:
            return current_app.response_class(body, mimetype=current_app.json.mimetype)
    missing = services.known.missing(services.reader, version, entity, client_id, entity_id)
    if missing == "client":
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})
    if missing == "entity":
        raise ApiError(
            404,
            "not_found",
            f"{entity.title()} not found for this client",
            {f"{entity}_id": entity_id},
        )
    if rows is None:
        rows = services.reader.fetch_all(compiled.sql, parameters)
    response = _answer(services, query, rows, compiled)
    services.answers.put(key, version, response.get_data())
    return response


def _answer(
    services: Services, query: ActivityQuery, rows: list[tuple], compiled: CompiledQuery
) -> Response:
    """The compiled metric query's rows as the documented answer (:class:`ActivitySeries`).

    The warehouse returns only the buckets holding data; they are laid on every
    bucket of the range, zero elsewhere, as ``calendar.fill`` does, which spares the
    warehouse the day series and its join. The JSON text is written directly, byte
    for byte what Flask's compact provider writes for
    ``ActivitySeries(...).model_dump(mode="json")`` (a test holds them equal): building
    and dumping that model cost a first-time answer about 0.2 ms of Python, a fifth
    of its time in the worker, for ninety points. An app whose JSON provider is set
    otherwise (``app.debug``, ``compact=False``) gets the provider's own text.
    """
    provider = current_app.json
    compact = getattr(provider, "compact", None)
    label = services.catalog.metrics[query.metric].label
    values = {as_day(bucket): value for bucket, value in rows}
    points = range_buckets(query.start_date, query.end_date, query.granularity)
    empty = compiled.empty  # a bucket the rows leave out: 0 for counts and sums
    value_of = _integer if compiled.value_type is int else _number
    if compact is False or (compact is None and current_app.debug):
        data = [
            {"date": bucket.isoformat(), "value": value_of(values.get(bucket, empty))}
            for bucket, _ in points
        ]
        period = {"start": query.start_date.isoformat(), "end": query.end_date.isoformat()}
        return provider.response(
            {"metric": query.metric, "label": label, "period": period, "data": data}
        )
    text_of = _integer_text if compiled.value_type is int else _number_text
    body = "".join(
        (
            '{"metric":',
            json.dumps(query.metric),
            ',"label":',
            json.dumps(label),
            ',"period":{"start":"',
            query.start_date.isoformat(),
            '","end":"',
            query.end_date.isoformat(),
            '"},"data":[',
            ",".join([f"{text}{text_of(values.get(bucket, empty))}}}" for bucket, text in points]),
            "]}\n",
        )
    )
    return current_app.response_class(body, mimetype=provider.mimetype)


def _integer(value: object) -> int | None:
    """A count or sum: an integer (None, null, only where the compiled query says so)."""
    return None if value is None else int(value)  # type: ignore[call-overload]


def _number(value: object) -> float | int | None:
    """A ratio, derived or average value: a JSON number, or None (null) where the metric
    has no value (a zero denominator, no rows) or is not finite. Integral values of an
    integer type stay integers; decimals (PostgreSQL numeric) become floats."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _integer_text(value: object) -> str:
    return "null" if value is None else str(int(value))  # type: ignore[call-overload]


def _number_text(value: object) -> str:
    """:func:`_number` as JSON text, as Flask's provider writes it (``repr`` of a float)."""
    number = _number(value)
    return "null" if number is None else json.dumps(number)


@lru_cache(maxsize=4096)
def range_buckets(start: date, end: date, granularity: str) -> tuple[tuple[date, str], ...]:
    """Every bucket of a range (``calendar.bucket_starts``) with the start of its JSON point,
    ``{"date":"YYYY-MM-DD","value":``; kept for the ranges asked most (questions repeat
    their ranges far more than their ids)."""
    return tuple(
        (bucket, f'{{"date":"{bucket.isoformat()}","value":')
        for bucket in bucket_starts(start, end, granularity)
    )
