"""The two activity endpoints of contract section 4, built from the semantic catalogue.

Check order: authentication (the blueprint's before-request hook, 401), then
path and query validation by flask-openapi3 (400), then the token's grant
(403), then the answer cache, then existence of the client and the entity under
it (404, from ids known at the data version: ``api.answers``), then the compiled
metric query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from api import data_state
from api.auth import require_client, require_token
from api.data import as_day
from api.errors import ApiError
from api.models import ERROR_RESPONSES, ActivitySeries, path_model, query_model
from daybook.semantic.calendar import fill

ENTITIES = ("user", "device")
API_SHAPE = "buckets"  # compiled queries return the buckets holding data; fill() does the rest


def activity_series(entity: str, client_id: str, entity_id: str, query: Any) -> Response:
    """Answer one request whose parameters are valid: grant, then the cache or the query."""
    require_client(client_id)
    services = current_app.extensions["daybook"]
    version = data_state.current().version
    key = (
        entity,
        client_id,
        entity_id,
        query.metric,
        query.granularity,
        query.start_date,
        query.end_date,
    )
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
    response = current_app.json.response(_series(services, entity, client_id, entity_id, query))
    services.answers.put(key, version, response.get_data())
    return response


def _series(
    services: Any, entity: str, client_id: str, entity_id: str, query: Any
) -> dict[str, Any]:
    """The compiled metric query's answer in the documented shape.

    The warehouse returns only the buckets holding data; ``calendar.fill`` lays
    them on every bucket of the range (zero elsewhere), which spares the
    warehouse the day series and its join.
    """
    compiled = services.catalog.compile(
        metric=query.metric,
        entity=entity,
        granularity=query.granularity,
        dialect=services.reader.dialect,
        shape=API_SHAPE,
    )
    rows = services.reader.fetch_all(
        compiled.sql,
        compiled.parameters(
            tenant_id=client_id,
            entity_id=entity_id,
            start_date=query.start_date,
            end_date=query.end_date,
        ),
    )
    series = ActivitySeries(
        metric=query.metric,
        label=services.catalog.metrics[query.metric].label,
        period={"start": query.start_date, "end": query.end_date},
        data=[
            {"date": bucket, "value": value}
            for bucket, value in fill(
                ((as_day(bucket), value) for bucket, value in rows),
                query.start_date,
                query.end_date,
                query.granularity,
            )
        ],
    )
    return series.model_dump(mode="json")


def _view(entity: str, path_cls: type[BaseModel], query_cls: type[BaseModel]) -> Callable:
    def view(path: Any, query: Any) -> Response:
        return activity_series(entity, path.client_id, getattr(path, f"{entity}_id"), query)

    # flask-openapi3 reads the models from the annotations; they are built per app.
    view.__annotations__ = {"path": path_cls, "query": query_cls, "return": dict}
    view.__name__ = f"{entity}_activity"
    return view


def activity_blueprint(catalog: Any, max_range_days: int) -> APIBlueprint:
    """A blueprint serving each entity's activity with that entity's YAML metrics."""
    blueprint = APIBlueprint(
        "activity",
        __name__,
        url_prefix="/v2",
        abp_tags=[Tag(name="activity", description="Activity time series")],
        abp_security=[{"bearerAuth": []}],
    )
    blueprint.before_request(require_token)
    for entity in ENTITIES:
        if entity not in catalog.entities:
            continue
        metrics = [metric.name for metric in catalog.metrics_for(entity)]
        lines = "\n".join(
            f"- `{metric.name}` ({metric.label}): {metric.description}"
            for metric in catalog.metrics_for(entity)
        )
        view = _view(entity, path_model(entity), query_model(entity, metrics, max_range_days))
        blueprint.get(
            f"/clients/<client_id>/analytics/{entity}s/<{entity}_id>/activity",
            operation_id=f"get{entity.title()}Activity",
            summary=f"{entity.title()} activity time series",
            description=(
                f"One point per bucket overlapping the range, oldest first, zero-filled. "
                f"The range is at most {max_range_days} days, end inclusive; "
                f"granularity defaults to daily.\n\nMetrics:\n{lines}"
            ),
            responses={200: ActivitySeries, **ERROR_RESPONSES},
            provide_automatic_options=False,  # no empty text/html OPTIONS answers
        )(view)
    return blueprint
