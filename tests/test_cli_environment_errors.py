"""A warehouse the environment does not let a command reach (a PostgreSQL server or database
that does not answer, a DuckDB folder that cannot be created, a path that is not a DuckDB
database) ends every command with one line and a non-zero exit, never a traceback, and
changes nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import PG_ADMIN_URL, require_postgres

from daybook.cli import main
from daybook.config import parse_database_url

TOKEN_ID = "0123456789abcdef"  # a well-formed id no store holds
CLIENTS_CSV = (
    "client_id,name,timezone,created_at\n"
    "aa7cf840-9ca9-46a3-9778-9015d6580d50,Northwind,UTC,2025-01-01 00:00:00\n"
)
COMMANDS = {
    "token-list": ["token", "list"],
    "token-create": ["token", "create", "--all-clients"],
    "token-create-client": ["token", "create", "--client", "aa7cf840-9ca9-46a3-9778-9015d6580d50"],
    "token-revoke": ["token", "revoke", TOKEN_ID],
    "load": ["load", "clients", "clients.csv"],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(monkeypatch, tmp_path: Path, url: str, command: list[str]):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", url)
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    (tmp_path / "clients.csv").write_text(CLIENTS_CSV)
    return CliRunner().invoke(main, command)


def assert_one_line(result, *words: str) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], result.output
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_refused_postgresql_port_is_one_line(command, monkeypatch, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/daybook"
    result = run(monkeypatch, tmp_path, url, command)
    assert_one_line(result, "cannot connect to PostgreSQL", "refused")


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_an_unresolvable_postgresql_host_is_one_line(command, monkeypatch, tmp_path):
    url = "postgresql://postgres@no-such-host.invalid:5432/daybook"
    result = run(monkeypatch, tmp_path, url, command)
    assert_one_line(result, "cannot connect to PostgreSQL", "no-such-host.invalid")


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_missing_postgresql_database_is_one_line(command, monkeypatch, tmp_path):
    require_postgres()
    admin = parse_database_url(PG_ADMIN_URL)
    url = f"postgresql://{admin.user}@{admin.host}:{admin.port}/daybook_no_such_db"
    result = run(monkeypatch, tmp_path, url, command)
    assert_one_line(result, "cannot connect to PostgreSQL", "daybook_no_such_db")


DUCKDB_COMMANDS = {key: COMMANDS[key] for key in ("token-list", "token-create", "load")}


@pytest.mark.parametrize("command", DUCKDB_COMMANDS.values(), ids=DUCKDB_COMMANDS.keys())
@pytest.mark.parametrize(
    "path",
    ["/proc/daybook/x.duckdb", "/sys/daybook/x.duckdb"],
    ids=["cannot-create", "not-permitted"],
)
def test_a_duckdb_folder_that_cannot_be_created_is_one_line(command, path, monkeypatch, tmp_path):
    result = run(monkeypatch, tmp_path, f"duckdb://{path}", command)
    assert_one_line(result, str(Path(path).parent))


@pytest.mark.parametrize("command", DUCKDB_COMMANDS.values(), ids=DUCKDB_COMMANDS.keys())
def test_a_duckdb_path_under_a_file_is_one_line(command, monkeypatch, tmp_path):
    (tmp_path / "plain").write_text("not a folder\n")
    url = f"duckdb://{tmp_path / 'plain' / 'x.duckdb'}"
    result = run(monkeypatch, tmp_path, url, command)
    assert_one_line(result, str(tmp_path / "plain"))
    assert (tmp_path / "plain").read_text() == "not a folder\n"


@pytest.mark.parametrize("command", DUCKDB_COMMANDS.values(), ids=DUCKDB_COMMANDS.keys())
def test_a_file_that_is_not_a_duckdb_database_is_refused(command, monkeypatch, tmp_path):
    # it used to be attached as an empty in-memory database: every load "added" rows that
    # were lost at once
    target = tmp_path / "target.csv"
    target.write_text(CLIENTS_CSV)
    result = run(monkeypatch, tmp_path, f"duckdb://{target}", command)
    assert_one_line(result, str(target), "not a DuckDB database")
    assert target.read_text() == CLIENTS_CSV
    assert not (tmp_path / "target.state").exists()


@pytest.mark.parametrize("command", DUCKDB_COMMANDS.values(), ids=DUCKDB_COMMANDS.keys())
def test_a_folder_as_the_duckdb_path_is_refused(command, monkeypatch, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run(monkeypatch, tmp_path, f"duckdb://{folder}", command)
    assert_one_line(result, str(folder), "folder")
    assert not (tmp_path / "folder.state").exists()
    assert list(folder.iterdir()) == []


def test_an_empty_file_is_not_a_duckdb_database(monkeypatch, tmp_path):
    target = tmp_path / "empty.duckdb"
    target.touch()
    result = run(monkeypatch, tmp_path, f"duckdb://{target}", ["token", "list"])
    assert_one_line(result, str(target), "not a DuckDB database")


def test_a_duckdb_database_file_and_a_new_path_are_accepted(monkeypatch, tmp_path):
    new = tmp_path / "new" / "w.duckdb"
    result = run(monkeypatch, tmp_path, f"duckdb://{new}", ["load", "clients", "clients.csv"])
    assert result.exit_code == 0, result.output
    assert new.is_file()
    result = run(monkeypatch, tmp_path, f"duckdb://{new}", ["load", "clients", "clients.csv"])
    assert result.exit_code == 0, result.output
    assert "1 rows read from 1 file(s), 0 added" in result.output
