"""The directory views: clients, metric catalogue, users, devices, most active.

Views are closures built per app (like the activity views), because the
ranking's range limit is configuration; flask-openapi3 reads the models from
the ``__annotations__`` set on each.
"""

from collections.abc import Callable
from typing import Any

from flask import current_app, g
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from api.auth import require_client, require_token
from api.data import as_day
from api.directory import queries
from api.directory.models import (
    ClientList,
    ClientPath,
    DevicePage,
    ListQuery,
    MetricCatalogue,
    TopDevices,
    TopUsers,
    UserPage,
    top_query_model,
)
from api.errors import ApiError
from api.models import ERROR_RESPONSES


def _reader() -> Any:
    return current_app.extensions["daybook"].reader


def _require_existing_client(client_id: str) -> None:
    """403 before 404: the grant is checked first, so no token learns of others' clients."""
    require_client(client_id)
    reader = _reader()
    (count,) = reader.fetch_all(queries.client_exists_sql(reader.dialect), [client_id])[0]
    if not count:
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})


def list_clients() -> dict:
    """The clients the caller's token is granted (all of them for an all-clients token)."""
    reader = _reader()
    rows = reader.fetch_all(queries.clients_sql(reader.dialect), [])
    data = [
        {
            "client_id": client_id,
            "name": name,
            "timezone": timezone,
            "first_activity_date": as_day(first) if first is not None else None,
            "last_activity_date": as_day(last) if last is not None else None,
        }
        for client_id, name, timezone, first, last in rows
        if g.token.allows(client_id)
    ]
    return ClientList(data=data).model_dump(mode="json")


def metric_catalogue(catalog: Any) -> dict:
    """Every YAML metric with its label and entities; a metric added as YAML shows up here.

    Built once per app: the catalogue does not change while the app runs.
    """
    data = [
        {
            "name": metric.name,
            "label": metric.label,
            "description": metric.description,
            "entities": [name for name in metric.entities if name in catalog.entities],
        }
        for metric in catalog.metrics.values()
    ]
    entities = [
        {"name": entity.name, "label": entity.label, "description": entity.description}
        for entity in catalog.entities.values()
    ]
    return MetricCatalogue(data=data, entities=entities).model_dump(mode="json")


def list_entities(entity: str, page_model: type[BaseModel], client_id: str, query: Any) -> dict:
    """One page of a client's users or devices, optionally filtered by a search text."""
    _require_existing_client(client_id)
    listing = queries.LISTINGS[entity]
    reader = _reader()
    page_sql, count_sql = queries.list_sql(entity, bool(query.search), reader.dialect)
    bound: list[Any] = [client_id]
    if query.search:
        bound += [query.search.lower()] * len(listing.searched)
    (total,) = reader.fetch_all(count_sql, bound)[0]
    rows = reader.fetch_all(page_sql, [*bound, query.limit, query.offset])
    names = listing.searched
    return page_model(
        data=[dict(zip(names, row, strict=True)) for row in rows],
        total=int(total),
        limit=query.limit,
        offset=query.offset,
    ).model_dump(mode="json")


def top_entities(entity: str, top_model: type[BaseModel], client_id: str, query: Any) -> dict:
    """The client's most active users or devices over the range (total activity, descending)."""
    _require_existing_client(client_id)
    listing = queries.LISTINGS[entity]
    reader = _reader()
    rows = reader.fetch_all(
        queries.top_sql(entity, reader.dialect),
        [client_id, query.start_date, query.end_date, query.limit],
    )
    names = (listing.key, *listing.columns, "total_activity")
    data = [dict(zip(names, row, strict=True)) for row in rows]
    for item in data:
        item["total_activity"] = int(item["total_activity"])
    period = {"start": query.start_date, "end": query.end_date}
    return top_model(period=period, data=data).model_dump(mode="json")


def _annotated(view: Callable, name: str, **models: Any) -> Callable:
    view.__annotations__ = {**models, "return": dict}
    view.__name__ = name
    return view


def directory_blueprint(catalog: Any, max_range_days: int) -> APIBlueprint:
    """The directory endpoints, authenticated like the activity endpoints."""
    blueprint = APIBlueprint(
        "directory",
        __name__,
        url_prefix="/v2",
        abp_tags=[Tag(name="directory", description="Clients, metrics, users and devices")],
        abp_security=[{"bearerAuth": []}],
    )
    blueprint.before_request(require_token)
    common = {"provide_automatic_options": False}

    blueprint.get(
        "/clients",
        operation_id="listClients",
        summary="Clients this token may read",
        description="The clients the token is granted, with each one's time zone and the "
        "first and last local days with activity (useful as a default date range).",
        responses={200: ClientList, **ERROR_RESPONSES},
        **common,
    )(_annotated(lambda: list_clients(), "list_clients"))

    catalogue = metric_catalogue(catalog)
    blueprint.get(
        "/metrics",
        operation_id="listMetrics",
        summary="Metric catalogue",
        description="Every metric of the semantic layer's YAML, with its label and the "
        "entities (user, device) whose activity endpoint accepts it.",
        responses={200: MetricCatalogue, **ERROR_RESPONSES},
        **common,
    )(_annotated(lambda: catalogue, "list_metrics"))

    top_query = top_query_model(max_range_days)
    for entity, page_model, top_model in (
        ("user", UserPage, TopUsers),
        ("device", DevicePage, TopDevices),
    ):
        title = entity.title()

        def listing(path: Any, query: Any, entity: str = entity, model: type = page_model) -> dict:
            return list_entities(entity, model, path.client_id, query)

        blueprint.get(
            f"/clients/<client_id>/{entity}s",
            operation_id=f"list{title}s",
            summary=f"A client's {entity}s",
            description=f"One page of the client's {entity}s; `search` matches the id and the "
            "text columns, case-insensitively.",
            responses={200: page_model, **ERROR_RESPONSES},
            **common,
        )(_annotated(listing, f"list_{entity}s", path=ClientPath, query=ListQuery))

        def top(path: Any, query: Any, entity: str = entity, model: type = top_model) -> dict:
            return top_entities(entity, model, path.client_id, query)

        blueprint.get(
            f"/clients/<client_id>/analytics/top-{entity}s",
            operation_id=f"getTop{title}s",
            summary=f"A client's most active {entity}s",
            description=f"The client's {entity}s with the highest total activity over the "
            f"range (at most {max_range_days} days, end inclusive), most active first; "
            f"{entity}s without activity in the range are left out.",
            responses={200: top_model, **ERROR_RESPONSES},
            **common,
        )(_annotated(top, f"top_{entity}s", path=ClientPath, query=top_query))
    return blueprint
