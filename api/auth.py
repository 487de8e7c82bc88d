"""Bearer-token authentication, run before parameter validation (401 precedes 400).

The token is looked up on every request (no cache), so a revocation made with
``daybook token revoke`` is effective on the next request in every worker. On
PostgreSQL the same round trip reads the data state (``api.request_state``), so a
cached answer costs one round trip in all.

A first-time question costs one round trip too. The activity endpoints'
hook (``deferred=True``) checks only the header's shape on PostgreSQL and
leaves the lookup to the view, which reads the token, the data state and the
series in one statement (:func:`fetch_with_token`); the series is read only
if the token's hash matches, it is not revoked and it is granted the client,
and the caller still gets nothing until the same checks pass in Python
(:meth:`TokenStore.verify`, :func:`require_client`). A request whose parameters
are invalid has its token verified before its 400 (:func:`authenticated_first`),
so the check order is unchanged.

Rate limits (``api.limits``) are checked here, in this order: an address over
its failed-authentication limit gets 429 before any lookup; every 401 counts
against its address; a verified token over its own limit gets 429.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from api import request_state
from api.errors import ERROR_RESPONSES, ApiError
from api.services import Services, current_services
from api.warehouse_reader import Guard, PostgresReader
from daybook.tokens import PostgresTokenStore, TokenRecord
from daybook.tokens.format import token_id_of
from daybook.tokens.store import parse_row

_CHALLENGE = 'Bearer realm="daybook"'
DIRECTORY_TAG = Tag(name="directory", description="Clients, metrics, users and devices")
_TOKEN_GUARD = Guard(
    PostgresTokenStore.guard_sql,
    PostgresTokenStore.guard_width,
    PostgresTokenStore.guard_condition,
)


def authenticated_blueprint(
    name: str, import_name: str, tag: Tag, *, deferred: bool = False
) -> APIBlueprint:
    """A ``/v2`` blueprint whose every route needs a bearer token (this module's hook) and
    documents it: the security scheme and the error statuses, given once here.

    ``deferred``: on PostgreSQL the token is verified by the views, with their data
    (:func:`fetch_with_token`; every view must call it or :func:`finish_deferred`)."""
    blueprint = APIBlueprint(
        name,
        import_name,
        url_prefix="/v2",
        abp_tags=[tag],
        abp_security=[{"bearerAuth": []}],
        abp_responses=ERROR_RESPONSES,
    )
    blueprint.before_request(require_token_deferred if deferred else require_token)
    return blueprint


def require_token() -> None:
    """Blueprint hook: set ``g.token`` to the caller's token record, or answer 401 (or 429)."""
    services = current_services()
    credentials = _presented(services)
    _accept(services, _authenticate(services, credentials))


def require_token_deferred() -> None:
    """Blueprint hook: as :func:`require_token`, except that on PostgreSQL a well-formed
    token waits, unverified, for the view to read it with the data."""
    services = current_services()
    credentials = _presented(services)
    if _one_round_trip(services) and token_id_of(credentials):
        request_state.defer_token(credentials)
        return
    _accept(services, _authenticate(services, credentials))


def finish_deferred() -> None:
    """Verify a token the hook deferred (one round trip with the data state), or do nothing."""
    credentials = request_state.take_deferred_token()
    if credentials is not None:
        services = current_services()
        _accept(services, _authenticate(services, credentials))


def fetch_with_token(
    client_id: str, sql: str, width: int, parameters: dict[str, Any]
) -> list[tuple] | None:
    """Verify the deferred token and read ``sql``'s rows for ``client_id`` in one round trip.

    Returns the rows (none unless the token may read ``client_id``: the caller's grant
    check then answers 403), or None when there was no deferred token or the combined
    statement could not run (the token is then verified on its own and the caller
    reads the data itself). Raises 401 or 429 as the hook would.
    """
    credentials = request_state.take_deferred_token()
    if credentials is None:
        return None
    services = current_services()
    reader, tokens = services.reader, services.tokens
    assert isinstance(reader, PostgresReader) and isinstance(tokens, PostgresTokenStore)
    found = reader.fetch_all_guarded(
        _TOKEN_GUARD,
        sql,
        width,
        {**parameters, **tokens.guard_parameters(credentials, client_id)},
    )
    if found is None:
        _accept(services, _authenticate(services, credentials))
        return None
    row, rows, version = found
    request_state.remember(request_state.DataState(version))
    _accept(services, tokens.verify(credentials, parse_row(row) if row else None))
    return rows


def authenticated_first(callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """flask-openapi3's validation callback, after any deferred token is verified: a bad
    token is 401 before bad parameters are 400."""

    def validation_error(error: Any) -> Any:
        finish_deferred()
        return callback(error)

    return validation_error


def _one_round_trip(services: Services) -> bool:
    """Whether views can read the token with their data (a PostgreSQL reader and store)."""
    return isinstance(services.reader, PostgresReader) and isinstance(
        services.tokens, PostgresTokenStore
    )


def _presented(services: Services) -> str:
    """The presented bearer credentials; 429 for an address over its failure limit, 401
    without a bearer token."""
    limits = services.limits
    address = request.remote_addr or "unknown"
    limits.check_address(address)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        limits.count_failure(address)
        raise ApiError(
            401,
            "authentication_required",
            "Authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    return credentials


def _accept(services: Services, record: TokenRecord | None) -> None:
    """Set ``g.token`` to a verified record and count it against its limit, or answer 401."""
    if record is None:
        services.limits.count_failure(request.remote_addr or "unknown")
        raise ApiError(
            401,
            "authentication_required",
            "Unknown or revoked token",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    request_state.set_token(record)
    services.limits.hit_token(record.token_id)


def _authenticate(services: Services, credentials: str) -> TokenRecord | None:
    """The caller's active token record; on PostgreSQL read with the data state."""
    combined = getattr(services.reader, "fetch_one_with_marker", None)
    token_id = token_id_of(credentials)
    if combined is not None and token_id and isinstance(services.tokens, PostgresTokenStore):
        found = combined(services.tokens.lookup_sql, (token_id,))
        if found is not None:
            row, version = found
            request_state.remember(request_state.DataState(version))
            return services.tokens.verify(credentials, parse_row(row) if row else None)
    return services.tokens.authenticate(credentials)


def require_client(client_id: str) -> None:
    """403 unless the caller's token is granted ``client_id`` (whether or not it exists)."""
    if not request_state.token().allows(client_id):
        raise ApiError(
            403,
            "forbidden",
            "This token is not granted access to this client",
            {"client_id": client_id},
        )
