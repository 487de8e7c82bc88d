"""``daybook token create|list|revoke`` against a warehouse the API is serving at that moment."""

from __future__ import annotations

import sqlite3

import pytest
from served_api import EXAMPLE_CLIENT, EXAMPLE_USER, activity_path, assert_error

from daybook.tokens import open_token_store
from daybook.tokens.format import hash_token
from daybook.warehouse import connection

PARAMS = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-03"}
PATH = activity_path(EXAMPLE_CLIENT, "user", EXAMPLE_USER)


def stored_rows(served) -> list[tuple]:
    """Every stored token row, read straight from where the store keeps it."""
    if served.backend == "duckdb":
        path = served.warehouse.state_dir / "tokens.sqlite3"
        with sqlite3.connect(path) as con:
            return con.execute("select * from api_tokens").fetchall()
    with connection(served.warehouse) as con:
        return con.execute("select * from daybook_auth.api_tokens").fetchall()


def test_create_prints_the_token_alone_on_its_last_line_and_it_works(served):
    result = served.cli("token", "create", "--client", EXAMPLE_CLIENT)
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("dbk_") and " " not in token
    assert served.get(PATH, token, params=PARAMS).status_code == 200
    # Granted one client only.
    other = served.other_client(EXAMPLE_CLIENT)
    user = next(row["user_id"] for row in served.users if row["client_id"] == other)
    assert_error(
        served.get(activity_path(other, "user", user), token, params=PARAMS), 403, "forbidden"
    )


def test_tokens_are_stored_only_as_hashes(served):
    token = served.cli("token", "create", "--all-clients").stdout.strip().splitlines()[-1]
    rows = stored_rows(served)
    flat = [str(value) for row in rows for value in row]
    assert not any(token in value for value in flat)
    secret = token.split("_", 2)[2]
    assert not any(secret in value for value in flat)
    assert hash_token(token) in flat


def test_list_shows_ids_and_grants_but_never_secrets(served):
    token = served.cli("token", "create", "--all-clients", "--label", "listing").stdout
    token = token.strip().splitlines()[-1]
    token_id = token.split("_")[1]
    listing = served.cli("token", "list").stdout
    assert token_id in listing
    assert "all clients" in listing
    assert token not in listing
    assert token.split("_", 2)[2] not in listing


def test_revocation_is_effective_on_the_next_request_in_every_worker(served):
    token = served.cli("token", "create", "--all-clients").stdout.strip().splitlines()[-1]
    # Keep-alive would pin one worker; fresh connections spread over both.
    for _ in range(6):
        response = served.get(PATH, token, params=PARAMS, headers={"Connection": "close"})
        assert response.status_code == 200, response.text
    served.cli("token", "revoke", token)
    for _ in range(6):
        response = served.get(PATH, token, params=PARAMS, headers={"Connection": "close"})
        assert_error(response, 401, "authentication_required")


def test_revoke_by_id_and_twice(served):
    token = served.cli("token", "create", "--all-clients").stdout.strip().splitlines()[-1]
    token_id = token.split("_")[1]
    first = served.cli("token", "revoke", token_id)
    assert token_id in first.stdout
    again = served.cli("token", "revoke", token_id)
    assert again.returncode == 0
    assert_error(served.get(PATH, token, params=PARAMS), 401, "authentication_required")
    listing = served.cli("token", "list").stdout
    assert any(token_id in line and "revoked" in line for line in listing.splitlines())


@pytest.mark.parametrize(
    ("argument", "says"),
    [
        ("abcdef123456", "no token has the id abcdef123456"),
        ("not a token", "neither a Daybook token (dbk_...) nor a token id"),
        ("dbk_abcdef123456_" + "x" * 43, "no token has the id abcdef123456"),
        ("dbk_abcdef123456_" + "x" * 44, "not a whole Daybook token"),
    ],
)
def test_revoking_an_unknown_token_fails_clearly(served, argument, says):
    result = served.cli("token", "revoke", argument, check=False)
    assert result.returncode != 0
    assert says in result.stderr
    assert "x" * 43 not in result.stderr  # a secret, even a mistyped one, is never echoed


def test_revoking_with_a_mistyped_secret_names_the_mismatch_and_revokes_nothing(served):
    token = served.cli("token", "create", "--all-clients").stdout.strip().splitlines()[-1]
    token_id, secret = token.split("_")[1], token.split("_", 2)[2]
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")
    for mistyped in (typo, token + "x"):
        result = served.cli("token", "revoke", mistyped, check=False)
        assert result.returncode != 0
        assert secret[:20] not in result.stderr
    assert "its secret differs" in served.cli("token", "revoke", typo, check=False).stderr
    assert served.get(PATH, token, params=PARAMS).status_code == 200  # still active
    assert token_id in served.cli("token", "revoke", token_id).stdout


def test_create_refuses_an_unknown_client_unless_allowed(served):
    unknown = "00000000-0000-4000-8000-00000000abcd"
    refused = served.cli("token", "create", "--client", unknown, check=False)
    assert refused.returncode != 0
    assert unknown in refused.stderr
    allowed = served.cli("token", "create", "--client", unknown, "--allow-unknown-client")
    token = allowed.stdout.strip().splitlines()[-1]
    # The token works, and asking for that client's (missing) data is a plain 404.
    response = served.get(activity_path(unknown, "user", EXAMPLE_USER), token, params=PARAMS)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--client", EXAMPLE_CLIENT, "--all-clients"],
        ["--client", "not-a-uuid"],
    ],
)
def test_create_refuses_bad_arguments(served, arguments):
    result = served.cli("token", "create", *arguments, check=False)
    assert result.returncode != 0
    assert result.stderr.strip()
    # the message says what was wrong: "not both" only when both were given
    assert ("not both" in result.stderr) == (
        "--all-clients" in arguments and "--client" in arguments
    )


def test_store_authenticates_only_active_matching_tokens(served):
    store = open_token_store(served.warehouse)
    record, token = store.create([EXAMPLE_CLIENT])
    assert store.authenticate(token) == record
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.authenticate("dbk_" + record.token_id) is None
    store.revoke(record.token_id)
    assert store.authenticate(token) is None
