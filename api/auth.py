"""Bearer-token authentication, run before parameter validation (401 precedes 400).

The token is looked up on every request (no cache), so a revocation made with
``daybook token revoke`` is effective on the next request in every worker.
"""

from __future__ import annotations

from flask import current_app, g, request

from api.errors import ApiError

_CHALLENGE = 'Bearer realm="daybook"'


def require_token() -> None:
    """Blueprint hook: set ``g.token`` to the caller's token record, or answer 401."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        raise ApiError(
            401,
            "authentication_required",
            "Authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    record = current_app.extensions["daybook"].tokens.authenticate(credentials)
    if record is None:
        raise ApiError(
            401,
            "authentication_required",
            "Unknown or revoked token",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    g.token = record


def require_client(client_id: str) -> None:
    """403 unless the caller's token is granted ``client_id`` (whether or not it exists)."""
    if not g.token.allows(client_id):
        raise ApiError(
            403,
            "forbidden",
            "This token is not granted access to this client",
            {"client_id": client_id},
        )
