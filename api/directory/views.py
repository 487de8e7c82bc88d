"""The directory endpoints: clients, and per entity (users, devices) a listing and a ranking.

Declared with ordinary decorators inside :func:`directory_blueprint`, which
``create_app`` calls once per app: the ranking's range limit is configuration,
so its query model (``TopQuery`` with that limit) and the operations'
descriptions are made there. Each entity's routes (a page, a ranking) are
declared by :func:`_add_entity_routes`, once per entity of the semantic
registry, for the same reason as the activity routes (``api.activity``:
flask-openapi3 takes models from type hints, one function object per route);
an entity whose key is not in the activity fact is listed but not ranked. The
SQL behind them is ``api.directory.queries`` (on ``Services.directory``).
"""

from typing import Any

from flask_openapi3 import APIBlueprint
from pydantic import BaseModel

from api import request_state
from api.auth import DIRECTORY_TAG, authenticated_blueprint, require_client
from api.directory.models import (
    ClientList,
    ClientPath,
    ListQuery,
    TopQuery,
    entity_answers,
)
from api.errors import ApiError
from api.params import with_range_limit
from api.services import current_services
from api.warehouse_reader import as_day
from daybook.semantic.definitions import Entity
from daybook.semantic.registry import Registry


def _require_existing_client(client_id: str) -> None:
    """403 before 404: the grant is checked first, so no token learns of others' clients."""
    require_client(client_id)
    services = current_services()
    (count,) = services.reader.fetch_all(services.directory.client_exists_sql, [client_id])[0]
    if not count:
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})


def granted_clients() -> dict:
    """The clients the caller's token is granted (all of them for an all-clients token)."""
    token = request_state.token()
    services = current_services()
    rows = services.reader.fetch_all(services.directory.clients_sql, [])
    data = [
        {
            "client_id": client_id,
            "name": name,
            "timezone": timezone,
            "first_activity_date": as_day(first) if first is not None else None,
            "last_activity_date": as_day(last) if last is not None else None,
        }
        for client_id, name, timezone, first, last in rows
        if token.allows(client_id)
    ]
    return ClientList(data=data).model_dump(mode="json")


def list_entities(
    entity: str, page_model: type[BaseModel], client_id: str, query: ListQuery
) -> dict:
    """One page of a client's users or devices, optionally filtered by a search text."""
    _require_existing_client(client_id)
    services = current_services()
    listing = services.directory.listings[entity]
    page_sql, count_sql = services.directory.list_sql(entity, bool(query.search))
    bound: list[Any] = [client_id]
    if query.search:
        bound += [query.search.lower()] * len(listing.searched)
    (total,) = services.reader.fetch_all(count_sql, bound)[0]
    rows = services.reader.fetch_all(page_sql, [*bound, query.limit, query.offset])
    names = listing.searched
    return page_model(
        data=[dict(zip(names, row, strict=True)) for row in rows],
        total=int(total),
        limit=query.limit,
        offset=query.offset,
    ).model_dump(mode="json")


def top_entities(entity: str, top_model: type[BaseModel], client_id: str, query: TopQuery) -> dict:
    """The client's most active users or devices over the range (total activity, descending)."""
    _require_existing_client(client_id)
    services = current_services()
    listing = services.directory.listings[entity]
    rows = services.reader.fetch_all(
        services.directory.top_sql(entity),
        [client_id, query.start_date, query.end_date, query.limit],
    )
    names = (listing.key, *listing.columns, "total_activity")
    data = [dict(zip(names, row, strict=True)) for row in rows]
    for item in data:
        item["total_activity"] = int(item["total_activity"])
    period = {"start": query.start_date, "end": query.end_date}
    return top_model(period=period, data=data).model_dump(mode="json")


def directory_blueprint(registry: Registry, max_range_days: int) -> APIBlueprint:
    """The directory endpoints, authenticated like the activity endpoints: one listing per
    entity of the registry, and one ranking per entity of the activity fact."""
    blueprint = authenticated_blueprint("directory", __name__, DIRECTORY_TAG)

    @blueprint.get(
        "/clients",
        operation_id="listClients",
        summary="Clients this token may read",
        description="The clients the token is granted, with each one's time zone and the "
        "first and last local days with activity (useful as a default date range).",
        responses={200: ClientList},
        provide_automatic_options=False,
    )
    def list_clients() -> dict:
        return granted_clients()

    top_query = with_range_limit(TopQuery, "TopQuery", max_range_days)
    ranked = {entity.name for entity in registry.activity_entities()}
    for spec in registry.listed_entities():
        _add_entity_routes(blueprint, spec, spec.name in ranked, top_query, max_range_days)
    return blueprint


def _add_entity_routes(
    blueprint: APIBlueprint,
    spec: Entity,
    ranked: bool,
    top_query: type[TopQuery],
    max_range_days: int,
) -> None:
    """``/clients/<client_id>/<entity>s`` and (``ranked``) ``.../analytics/top-<entity>s``."""
    RangedTopQuery = top_query  # a class: an annotation below
    entity, answers = spec.name, entity_answers(spec)
    page_model, top_model = answers.page, answers.top

    @blueprint.get(
        f"/clients/<client_id>/{spec.plural}",
        endpoint=f"list_{spec.plural}",
        operation_id=f"list{spec.plural.title()}",
        summary=f"A client's {spec.plural}",
        description=f"One page of the client's {spec.plural}; `search` matches the id and the "
        "text columns, case-insensitively.",
        responses={200: page_model},
        provide_automatic_options=False,
    )
    def list_entity_page(path: ClientPath, query: ListQuery) -> dict:
        return list_entities(entity, page_model, path.client_id, query)

    if not ranked:
        return

    @blueprint.get(
        f"/clients/<client_id>/analytics/top-{spec.plural}",
        endpoint=f"top_{spec.plural}",
        operation_id=f"getTop{spec.plural.title()}",
        summary=f"A client's most active {spec.plural}",
        description=f"The client's {spec.plural} with the highest total activity over the "
        f"range (at most {max_range_days} days, end inclusive), most active first; "
        f"{spec.plural} without activity in the range are left out.",
        responses={200: top_model},
        provide_automatic_options=False,
    )
    def top_entity_ranking(path: ClientPath, query: RangedTopQuery) -> dict:  # type: ignore[valid-type]
        return top_entities(entity, top_model, path.client_id, query)
