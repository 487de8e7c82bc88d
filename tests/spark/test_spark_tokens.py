"""``daybook token create|list|revoke`` with ``DAYBOOK_DATABASE_URL=sc://...``: tokens live in
SQLite beside the warehouse (its local state folder), never in Spark; ``create`` checks client
ids against the warehouse's tenant mart through the Spark connection, with bound parameters."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from support import read_table

from daybook.cli import main
from daybook.tokens import SqliteTokenStore, open_token_store

# a Spark server (seconds to start, a second a statement): the build tier
pytestmark = pytest.mark.build

KNOWN = str(uuid.UUID(int=1))
UNKNOWN = str(uuid.UUID(int=2))


@pytest.fixture
def run(spark_warehouse, monkeypatch):
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", spark_warehouse.url)

    def invoke(*args: str):
        return CliRunner().invoke(main, ["token", *args])

    return invoke


def test_tokens_are_created_listed_and_revoked_beside_the_warehouse(spark_warehouse, run):
    store = open_token_store(spark_warehouse)
    assert isinstance(store, SqliteTokenStore)
    assert store.path.parent == spark_warehouse.state_dir

    created = run("create", "--all-clients", "--label", "ops")
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    record = store.authenticate(secret)
    assert record is not None and record.all_clients and record.label == "ops"

    listed = run("list")
    assert listed.exit_code == 0
    assert record.token_id in listed.output and "active" in listed.output
    assert secret not in listed.output

    revoked = run("revoke", record.token_id)
    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked token {record.token_id}" in revoked.output
    assert store.authenticate(secret) is None
    assert "revoked" in run("list").output

    databases = {row["namespace"] for row in read_table(spark_warehouse, "show databases")}
    assert "daybook_auth" not in databases  # nothing of the tokens went to Spark


def test_create_checks_client_ids_against_the_tenant_mart_in_spark(spark_warehouse, run):
    unbuilt = run("create", "--client", UNKNOWN)
    assert unbuilt.exit_code == 0, unbuilt.output
    assert "could not read the warehouse's clients" in unbuilt.output

    from daybook.warehouse import connection

    with connection(spark_warehouse) as con:
        con.execute("create table default.dim_clients (client_id string) using parquet")
        con.execute("insert into default.dim_clients values (?)", [KNOWN])

    refused = run("create", "--client", UNKNOWN)
    assert refused.exit_code == 1
    assert f"unknown client(s) in the warehouse: {UNKNOWN}" in refused.output

    granted = run("create", "--client", KNOWN)
    assert granted.exit_code == 0, granted.output
    record = open_token_store(spark_warehouse).authenticate(granted.output.split()[-1])
    assert record is not None and record.client_ids == (KNOWN,)
    assert record.allows(KNOWN) and not record.allows(UNKNOWN)
