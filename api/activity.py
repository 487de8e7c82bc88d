"""The two activity endpoints of contract section 4, built from the semantic catalogue.

Check order: authentication (the blueprint's before-request hook, 401), then
path and query validation by flask-openapi3 (400), then the token's grant
(403), then existence of the client and the entity under it (404), then the
compiled metric query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from api.auth import require_client, require_token
from api.data import as_day, existence_sql
from api.errors import ApiError
from api.models import ActivitySeries, ErrorResponse, path_model, query_model

ENTITIES = ("user", "device")

_ERRORS = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    500: ErrorResponse,
}


def activity_series(entity: str, client_id: str, entity_id: str, query: Any) -> dict:
    """Answer one request whose parameters are valid: grant, existence, then the metric."""
    require_client(client_id)
    services = current_app.extensions["daybook"]
    catalog, reader = services.catalog, services.reader
    spec = catalog.entities[entity]
    sql = existence_sql(spec.model, spec.key, spec.tenant_key, reader.dialect)
    client_rows, entity_rows = reader.fetch_all(sql, [client_id, entity_id, client_id])[0]
    if not client_rows:
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})
    if not entity_rows:
        raise ApiError(
            404,
            "not_found",
            f"{entity.title()} not found for this client",
            {f"{entity}_id": entity_id},
        )
    compiled = catalog.compile(
        metric=query.metric, entity=entity, granularity=query.granularity, dialect=reader.dialect
    )
    rows = reader.fetch_all(
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
        label=catalog.metrics[query.metric].label,
        period={"start": query.start_date, "end": query.end_date},
        data=[{"date": as_day(bucket), "value": int(value or 0)} for bucket, value in rows],
    )
    return series.model_dump(mode="json")


def _view(entity: str, path_cls: type[BaseModel], query_cls: type[BaseModel]) -> Callable:
    def view(path: Any, query: Any) -> dict:
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
            responses={200: ActivitySeries, **_ERRORS},
            provide_automatic_options=False,  # no empty text/html OPTIONS answers
        )(view)
    return blueprint
