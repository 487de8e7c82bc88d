"""``daybook token create|list|revoke``: manage API tokens, also while the API is serving.

``create`` refuses client ids that are not canonical UUIDs, and client ids the
warehouse's tenant mart (``dim_clients``, the registry's tenant in
``semantic/entities.yml``) does not hold (a typo would otherwise give a token
that can only ever answer 404); ``--allow-unknown-client`` overrides that for a
client whose data has not arrived yet. When the warehouse cannot be read (not
built yet, or a DuckDB file locked by a running build) it warns and creates.

Tokens live with the database the API reads (:func:`token_store`): with
``DAYBOOK_SERVING_URL`` set, the serving store's (its ``daybook_auth`` table, or the
SQLite file beside a DuckDB store), else the warehouse's.
"""

from __future__ import annotations

import re
import sys

import click

from daybook.config import Warehouse, warehouse_from_env
from daybook.raw_schema import CANONICAL_UUID
from daybook.serving.store import serving_store
from daybook.tokens.store import TokenError, TokenRecord, TokenStore, open_token_store

_UUID_RE = re.compile(CANONICAL_UUID)


def unknown_clients(warehouse: Warehouse, client_ids: list[str]) -> list[str] | None:
    """The ids not in the tenant mart, or None when the warehouse cannot be read."""
    from daybook.semantic.loader import load_registry
    from daybook.warehouse import connection

    tenant = load_registry(check_manifest=False).require_tenant()
    placeholder = "%s" if warehouse.backend == "postgres" else "?"
    marks = ", ".join([placeholder] * len(client_ids))
    try:
        with connection(warehouse, read_only=True) as con:
            cursor = con.cursor()
            cursor.execute(
                f"select {tenant.key} from {tenant.model} where {tenant.key} in ({marks})",
                client_ids,
            )
            found = {str(row[0]) for row in cursor.fetchall()}
    except Exception:  # the warehouse is missing, unbuilt or locked: the caller warns
        return None
    return [client for client in client_ids if client not in found]


def token_store(warehouse: Warehouse | None = None) -> TokenStore:
    """The token store of the database the API reads (the serving store when one is set),
    its table created when missing: a store that cannot be reached (a PostgreSQL server
    that does not answer, a state folder that cannot be created) fails here, with one line
    (``daybook.cli``), before anything else is done."""
    opened = open_token_store(serving_store(warehouse or warehouse_from_env()))
    opened.ensure_schema()
    return opened


def _clients_text(record: TokenRecord) -> str:
    return "all clients" if record.all_clients else "client(s) " + ", ".join(record.client_ids)


def _describe(record: TokenRecord) -> str:
    clients = _clients_text(record)
    status = "active" if record.active else f"revoked {record.revoked_at}"
    label = f"  label={record.label!r}" if record.label else ""
    return f"{record.token_id}  {status:<32}  created {record.created_at}  {clients}{label}"


@click.group()
def token() -> None:
    """Manage API tokens (shown once, stored only as hashes)."""


@token.command()
@click.option("--client", "clients", multiple=True, metavar="ID", help="Grant a client (repeat).")
@click.option("--all-clients", is_flag=True, help="Grant every client, present and future.")
@click.option("--label", default="", help="A note shown by `token list`.")
@click.option(
    "--allow-unknown-client",
    is_flag=True,
    help="Create even for ids the warehouse's clients do not hold.",
)
def create(clients: tuple[str, ...], all_clients: bool, label: str, allow_unknown_client: bool):
    """Create a token; the token alone is printed on the last line."""
    if clients and all_clients:
        raise click.UsageError("give --client ID (one or more) or --all-clients, not both")
    if not clients and not all_clients:
        raise click.UsageError("give --client ID (one or more), or --all-clients")
    client_ids = [client.strip().lower() for client in clients]
    malformed = [client for client in client_ids if not _UUID_RE.fullmatch(client)]
    if malformed:
        raise click.BadParameter(
            f"not a client UUID: {', '.join(malformed)}", param_hint="--client"
        )
    warehouse = warehouse_from_env()
    store = token_store(warehouse)
    if client_ids and not allow_unknown_client:
        missing = unknown_clients(warehouse, client_ids)
        if missing is None:
            click.echo(
                "warning: could not read the warehouse's clients to check the ids; creating anyway",
                err=True,
            )
        elif missing:
            raise click.ClickException(
                f"unknown client(s) in the warehouse: {', '.join(missing)} "
                "(use --allow-unknown-client to create the token anyway)"
            )
    record, secret = store.create(None if all_clients else client_ids, label=label)
    click.echo(f"Created token {record.token_id} for {_clients_text(record)}.")
    click.echo("It is shown only this once; the warehouse keeps only its hash.")
    click.echo(secret)


@token.command(name="list")
def list_tokens() -> None:
    """List tokens: id, status, creation time, clients (never the secret)."""
    records = token_store().list()
    if not records:
        click.echo("no tokens")
    for record in records:
        click.echo(_describe(record))


@token.command()
@click.argument("token_or_id")
def revoke(token_or_id: str) -> None:
    """Revoke a token by its id or the token itself; effective on the next request."""
    store = token_store()
    revoked_before = {record.token_id for record in store.list() if not record.active}
    try:
        record = store.revoke(token_or_id.strip())
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    if record.token_id in revoked_before:
        click.echo(f"Token {record.token_id} was already revoked, at {record.revoked_at}.")
    else:
        click.echo(f"Revoked token {record.token_id} at {record.revoked_at}.")


if __name__ == "__main__":  # pragma: no cover
    token(sys.argv[1:])
