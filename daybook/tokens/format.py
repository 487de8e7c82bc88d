"""What an API token looks like, and how it is hashed and checked.

A token is ``dbk_<id>_<secret>``: the 12-hex-digit id is public (``token list``
shows it, ``token revoke`` accepts it) and is how a request's token is looked
up, so the lookup never compares secret material in the database; the secret
is 256 bits from ``secrets.token_urlsafe``. Only the SHA-256 of the whole token
is stored. A slow password hash is unnecessary for tokens of this entropy, and
SHA-256 keeps the per-request check cheap; the final comparison is
constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "dbk_"
_ID_HEX_DIGITS = 12
_TOKEN_RE = re.compile(r"^dbk_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
_ID_RE = re.compile(r"^[0-9a-f]{12}$")
# Compared against when the id is unknown, so both paths do the same work.
_DUMMY_HASH = hashlib.sha256(b"daybook-unknown-token").hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(token_id, token)`` pair; the token is shown once and never stored."""
    token_id = secrets.token_hex(_ID_HEX_DIGITS // 2)
    return token_id, f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The public id embedded in a well-formed token, or None for anything else."""
    match = _TOKEN_RE.fullmatch(token)
    return match.group("id") if match else None


def is_token_id(value: str) -> bool:
    """True for a bare token id as ``token list`` prints it."""
    return bool(_ID_RE.fullmatch(value))


def matches(token: str, stored_hash: str | None) -> bool:
    """Constant-time check of a presented token against a stored hash (None: unknown id)."""
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(hash_token(token), expected) and stored_hash is not None


def unreadable_token_message(value: str) -> str:
    """Why ``value`` is neither a token nor a token id, without repeating it (it may be a
    token with a typo, whose secret a terminal or a CI log would then keep)."""
    if value.strip().startswith(PREFIX):
        return (
            "the token given is not a whole Daybook token (dbk_, a 12-hex-digit id, _, a "
            "43-character secret): a character is missing, extra or changed"
        )
    return (
        "the value given is neither a Daybook token (dbk_...) nor a token id "
        "(12 hexadecimal digits, as `daybook token list` prints them)"
    )
