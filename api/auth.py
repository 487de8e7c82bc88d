"""Bearer-token authentication, run before parameter validation (401 precedes 400).

The token is looked up on every request (no cache), so a revocation made with
``daybook token revoke`` is effective on the next request in every worker. On
PostgreSQL the same round trip reads the data state (``api.request_state``), so a
cached answer costs one round trip in all.

Rate limits (``api.limits``) are checked here, in this order: an address over
its failed-authentication limit gets 429 before any lookup; every 401 counts
against its address; a verified token over its own limit gets 429.
"""

from __future__ import annotations

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from api import request_state
from api.errors import ERROR_RESPONSES, ApiError
from api.services import Services, current_services
from daybook.tokens import PostgresTokenStore, TokenRecord
from daybook.tokens.format import token_id_of
from daybook.tokens.store import parse_row

_CHALLENGE = 'Bearer realm="daybook"'
DIRECTORY_TAG = Tag(name="directory", description="Clients, metrics, users and devices")


def authenticated_blueprint(name: str, import_name: str, tag: Tag) -> APIBlueprint:
    """A ``/v2`` blueprint whose every route needs a bearer token (this module's hook) and
    documents it: the security scheme and the error statuses, given once here."""
    blueprint = APIBlueprint(
        name,
        import_name,
        url_prefix="/v2",
        abp_tags=[tag],
        abp_security=[{"bearerAuth": []}],
        abp_responses=ERROR_RESPONSES,
    )
    blueprint.before_request(require_token)
    return blueprint


def require_token() -> None:
    """Blueprint hook: set ``g.token`` to the caller's token record, or answer 401 (or 429)."""
    services = current_services()
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
    record = _authenticate(services, credentials)
    if record is None:
        limits.count_failure(address)
        raise ApiError(
            401,
            "authentication_required",
            "Unknown or revoked token",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    request_state.set_token(record)
    limits.hit_token(record.token_id)


def _authenticate(services: Services, credentials: str) -> TokenRecord | None:
    """The caller's active token record; on PostgreSQL read with the data state."""
    combined = getattr(services.reader, "fetch_one_with_marker", None)
    token_id = token_id_of(credentials)
    if combined is not None and token_id and isinstance(services.tokens, PostgresTokenStore):
        found = combined(services.tokens.lookup_sql, (token_id,))
        if found is not None:
            row, version, newest = found
            request_state.remember(request_state.DataState(version, newest))
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
