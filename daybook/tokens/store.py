"""Where API tokens live: beside the warehouse, never inside a DuckDB file.

The API holds a DuckDB warehouse open read-only, and DuckDB lets one writing
process lock a file against every other, so tokens for a DuckDB warehouse live
in a small SQLite file in the warehouse's ``state_dir`` (WAL mode: the CLI can
create or revoke while API workers read); so do Spark's (``sc://``: too slow and without
transactions for a read per request). For PostgreSQL they live in the
warehouse itself, table ``daybook_auth.api_tokens``, outside dbt's schemas.

Nothing caches a token: every request looks its token up by id (one primary-key
read), so a revocation takes effect on the next request in every worker. On
PostgreSQL the API reads it in the same statement as the data it asks for
(:attr:`PostgresTokenStore.guard_sql`), which that statement reads only for a
token that may.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daybook.config import Warehouse
from daybook.tokens.format import (
    hash_token,
    is_token_id,
    matches,
    new_token,
    token_id_of,
    unreadable_token_message,
)

_COLUMNS = "token_id, token_hash, label, all_clients, client_ids, created_at, revoked_at"


class TokenError(ValueError):
    """A token command cannot be carried out (unknown token, bad client list)."""


@dataclass(frozen=True)
class TokenRecord:
    """One token as stored, without its secret."""

    token_id: str
    label: str
    all_clients: bool
    client_ids: tuple[str, ...]
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, client_id: str) -> bool:
        """Whether this token may read ``client_id``'s data."""
        return self.active and (self.all_clients or client_id in self.client_ids)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_row(row: Sequence[Any]) -> tuple[TokenRecord, str]:
    """A stored row (the columns of :attr:`TokenStore.lookup_sql`) as (record, hash)."""
    token_id, token_hash, label, all_clients, client_ids, created_at, revoked_at = row
    record = TokenRecord(
        token_id=token_id,
        label=label or "",
        all_clients=bool(all_clients),
        client_ids=tuple(json.loads(client_ids)),
        created_at=created_at,
        revoked_at=revoked_at,
    )
    return record, token_hash


class TokenStore:
    """Create, list, revoke and check tokens; subclasses say how to reach the table."""

    table = "api_tokens"
    placeholder = "?"

    def _connection(self) -> AbstractContextManager[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def ensure_schema(self) -> None:
        """Create the token table when missing (idempotent)."""
        with self._connection() as con:
            con.execute(
                f"create table if not exists {self.table} ("
                " token_id text primary key, token_hash text not null,"
                " label text not null default '', all_clients boolean not null,"
                " client_ids text not null, created_at text not null, revoked_at text)"
            )

    def create(
        self, client_ids: Sequence[str] | None, *, label: str = ""
    ) -> tuple[TokenRecord, str]:
        """Store a new token for the given clients (None: all clients); returns it once."""
        if client_ids is not None and not client_ids:
            raise TokenError("a token needs at least one client, or all clients")
        self.ensure_schema()
        token_id, token = new_token()
        ids = sorted(set(client_ids or ()))
        record = TokenRecord(token_id, label, client_ids is None, tuple(ids), _now(), None)
        p = self.placeholder
        with self._connection() as con:
            con.execute(
                f"insert into {self.table} ({_COLUMNS}) values ({', '.join([p] * 7)})",
                (
                    token_id,
                    hash_token(token),
                    label,
                    record.all_clients,
                    json.dumps(ids),
                    record.created_at,
                    None,
                ),
            )
        return record, token

    def list(self) -> list[TokenRecord]:
        """Every token, oldest first, without secrets."""
        self.ensure_schema()
        with self._connection() as con:
            rows = con.execute(
                f"select {_COLUMNS} from {self.table} order by created_at, token_id"
            ).fetchall()
        return [parse_row(row)[0] for row in rows]

    def revoke(self, token_or_id: str) -> TokenRecord:
        """Revoke by full token or by id; revoking twice keeps the first revocation time."""
        self.ensure_schema()
        token_id = token_id_of(token_or_id)
        if token_id is None and not is_token_id(token_or_id):
            # never echoed: a mistyped token is still mostly a secret (terminals, CI logs)
            raise TokenError(unreadable_token_message(token_or_id))
        found = self._find(token_id or token_or_id)
        if found is None:
            raise TokenError(f"no token has the id {token_id or token_or_id}")
        if token_id is not None and not matches(token_or_id, found[1]):
            raise TokenError(
                f"the token given is not token {token_id}'s: its secret differs "
                f"(to revoke token {token_id} anyway, give its id alone)"
            )
        record = found[0]
        if record.revoked_at is None:
            p = self.placeholder
            with self._connection() as con:
                con.execute(
                    f"update {self.table} set revoked_at = {p}"
                    f" where token_id = {p} and revoked_at is null",
                    (_now(), record.token_id),
                )
            record = self._find(record.token_id)[0]  # type: ignore[index]
        return record

    def authenticate(self, token: str) -> TokenRecord | None:
        """The active token record for a presented token, or None (unknown, revoked, malformed)."""
        token_id = token_id_of(token)
        return self.verify(token, self._find(token_id) if token_id else None)

    @staticmethod
    def verify(token: str, found: tuple[TokenRecord, str] | None) -> TokenRecord | None:
        """The record ``found`` for a presented token if its hash matches and it is active."""
        if not matches(token, found[1] if found else None):
            return None
        assert found is not None
        return found[0] if found[0].active else None

    @property
    def lookup_sql(self) -> str:
        """The one-row lookup of a token by id (one parameter: the id); see :func:`parse_row`."""
        return f"select {_COLUMNS} from {self.table} where token_id = {self.placeholder}"

    def _find(self, token_id: str) -> tuple[TokenRecord, str] | None:
        with self._connection() as con:
            row = con.execute(self.lookup_sql, (token_id,)).fetchone()
        return parse_row(row) if row else None


class SqliteTokenStore(TokenStore):
    """Tokens of a DuckDB warehouse: a SQLite file in WAL mode, one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._schema_ready = False

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        con = getattr(self._local, "con", None)
        if con is None:
            from daybook.warehouse import make_folder  # one line when it cannot be made

            make_folder(self.path.parent, "the API tokens")
            con = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            con.execute("pragma journal_mode=wal")
            con.execute("pragma busy_timeout=10000")
            self._local.con = con
        yield con

    def ensure_schema(self) -> None:
        if not self._schema_ready:
            super().ensure_schema()
            self._schema_ready = True


class PostgresTokenStore(TokenStore):
    """Tokens of a PostgreSQL warehouse: ``daybook_auth.api_tokens`` in the warehouse itself."""

    table = "daybook_auth.api_tokens"
    placeholder = "%s"

    def __init__(self, connect: Callable[[], AbstractContextManager[Any]]) -> None:
        self._connect = connect

    def _connection(self) -> AbstractContextManager[Any]:
        return self._connect()

    def ensure_schema(self) -> None:
        with self._connection() as con:
            con.execute("create schema if not exists daybook_auth")
        super().ensure_schema()

    # A lookup by id and the condition under which a query guarded by it may read data
    # (``api.warehouse_reader.Guard``): the presented token's hash matches, it is not
    # revoked, and it is granted the client. Named parameters, all bound: see
    # :meth:`guard_parameters`.
    guard_sql = f"select {_COLUMNS} from {table} where token_id = %(daybook_token_id)s"
    guard_width = len(_COLUMNS.split(","))
    guard_condition = (
        "guard.token_hash = %(daybook_token_hash)s and guard.revoked_at is null"
        " and (guard.all_clients or guard.client_ids::jsonb ? %(daybook_client_id)s)"
    )

    @staticmethod
    def guard_parameters(token: str, client_id: str) -> dict[str, str | None]:
        """The guard's parameters for a presented token asking for ``client_id``'s data.

        The decision the caller acts on is still :meth:`verify` (a constant-time
        comparison) and the grant check; the guard only keeps a refused caller's
        query from reading data.
        """
        return {
            "daybook_token_id": token_id_of(token),
            "daybook_token_hash": hash_token(token),
            "daybook_client_id": client_id,
        }

    def _find(self, token_id: str) -> tuple[TokenRecord, str] | None:
        import psycopg

        try:
            return super()._find(token_id)
        except psycopg.errors.UndefinedTable:
            return None  # no token was ever created in this warehouse


def open_token_store(warehouse: Warehouse) -> TokenStore:
    """The token store of a warehouse, for the CLI (PostgreSQL: a connection per operation).

    Spark keeps them like DuckDB, in SQLite in the warehouse's local ``state_dir``: a Spark
    query costs a third of a second and Spark has no transactions, while every request
    reads its token and a revocation must count from the next one.
    """
    if warehouse.backend in ("duckdb", "spark"):
        return SqliteTokenStore(warehouse.state_dir / "tokens.sqlite3")
    import psycopg

    return PostgresTokenStore(lambda: psycopg.connect(warehouse.pg_conninfo, autocommit=True))
