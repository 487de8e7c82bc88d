"""The directory endpoints: clients, users, devices, most active users and devices.

Declared with ordinary decorators inside :func:`directory_blueprint`, which
``create_app`` calls once per app: the ranking's range limit is configuration,
so its query model (``TopQuery`` with that limit) and the operations'
descriptions are made there. The users and devices routes are spelled out one
by one (their answer models differ); the SQL behind them is
``api.directory.queries``.
"""

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from api import request_state
from api.auth import require_client, require_token
from api.directory import queries
from api.directory.models import (
    ClientList,
    ClientPath,
    DevicePage,
    ListQuery,
    TopDevices,
    TopQuery,
    TopUsers,
    UserPage,
)
from api.errors import ERROR_RESPONSES, ApiError
from api.params import with_range_limit
from api.services import current_services
from api.warehouse_reader import Reader, as_day


def _reader() -> Reader:
    return current_services().reader


def _require_existing_client(client_id: str) -> None:
    """403 before 404: the grant is checked first, so no token learns of others' clients."""
    require_client(client_id)
    reader = _reader()
    (count,) = reader.fetch_all(queries.client_exists_sql(reader.dialect), [client_id])[0]
    if not count:
        raise ApiError(404, "not_found", "Client not found", {"client_id": client_id})


def granted_clients() -> dict:
    """The clients the caller's token is granted (all of them for an all-clients token)."""
    token = request_state.token()
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
        if token.allows(client_id)
    ]
    return ClientList(data=data).model_dump(mode="json")


def list_entities(
    entity: str, page_model: type[BaseModel], client_id: str, query: ListQuery
) -> dict:
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


def top_entities(entity: str, top_model: type[BaseModel], client_id: str, query: TopQuery) -> dict:
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


def directory_blueprint(max_range_days: int) -> APIBlueprint:
    """The directory endpoints, authenticated like the activity endpoints."""
    blueprint = APIBlueprint(
        "directory",
        __name__,
        url_prefix="/v2",
        abp_tags=[Tag(name="directory", description="Clients, metrics, users and devices")],
        abp_security=[{"bearerAuth": []}],
        abp_responses=ERROR_RESPONSES,
    )
    blueprint.before_request(require_token)
    RangedTopQuery = with_range_limit(TopQuery, "TopQuery", max_range_days)

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

    @blueprint.get(
        "/clients/<client_id>/users",
        operation_id="listUsers",
        summary="A client's users",
        description="One page of the client's users; `search` matches the id and the "
        "text columns, case-insensitively.",
        responses={200: UserPage},
        provide_automatic_options=False,
    )
    def list_users(path: ClientPath, query: ListQuery) -> dict:
        return list_entities("user", UserPage, path.client_id, query)

    @blueprint.get(
        "/clients/<client_id>/analytics/top-users",
        operation_id="getTopUsers",
        summary="A client's most active users",
        description=_top_description("user", max_range_days),
        responses={200: TopUsers},
        provide_automatic_options=False,
    )
    def top_users(path: ClientPath, query: RangedTopQuery) -> dict:  # type: ignore[valid-type]
        return top_entities("user", TopUsers, path.client_id, query)

    @blueprint.get(
        "/clients/<client_id>/devices",
        operation_id="listDevices",
        summary="A client's devices",
        description="One page of the client's devices; `search` matches the id and the "
        "text columns, case-insensitively.",
        responses={200: DevicePage},
        provide_automatic_options=False,
    )
    def list_devices(path: ClientPath, query: ListQuery) -> dict:
        return list_entities("device", DevicePage, path.client_id, query)

    @blueprint.get(
        "/clients/<client_id>/analytics/top-devices",
        operation_id="getTopDevices",
        summary="A client's most active devices",
        description=_top_description("device", max_range_days),
        responses={200: TopDevices},
        provide_automatic_options=False,
    )
    def top_devices(path: ClientPath, query: RangedTopQuery) -> dict:  # type: ignore[valid-type]
        return top_entities("device", TopDevices, path.client_id, query)

    return blueprint


def _top_description(entity: str, max_range_days: int) -> str:
    return (
        f"The client's {entity}s with the highest total activity over the "
        f"range (at most {max_range_days} days, end inclusive), most active first; "
        f"{entity}s without activity in the range are left out."
    )
