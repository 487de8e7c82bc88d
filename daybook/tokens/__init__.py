"""API tokens: created and revoked by the CLI, checked by the API on every request."""

from daybook.tokens.store import (
    PostgresTokenStore,
    SqliteTokenStore,
    TokenError,
    TokenRecord,
    TokenStore,
    open_token_store,
)

__all__ = [
    "PostgresTokenStore",
    "SqliteTokenStore",
    "TokenError",
    "TokenRecord",
    "TokenStore",
    "open_token_store",
]
