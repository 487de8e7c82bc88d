"""A setting a command cannot use (a malformed ``DAYBOOK_DATABASE_URL``, a bad Spark retry
budget) ends every command that opens the warehouse with a non-zero exit code and the
setting's own message, no traceback. (``daybook sql`` only compiles: it falls back to DuckDB's
dialect, and ``--dialect`` picks another.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from daybook.cli import main

COMMANDS = (
    ["build"],
    ["refresh"],
    ["check"],
    ["load", "clients", "clients.csv"],
    ["token", "list"],
)
BAD_SETTINGS = (
    ({"DAYBOOK_DATABASE_URL": "sc://127.0.0.1:1x5002"}, "has an invalid port"),
    ({"DAYBOOK_DATABASE_URL": "mysql://host/db"}, "is not supported"),
    (
        {"DAYBOOK_DATABASE_URL": "sc://127.0.0.1:15002", "DAYBOOK_SPARK_RETRY_SECONDS": "soon"},
        "DAYBOOK_SPARK_RETRY_SECONDS must be a number of seconds",
    ),
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
@pytest.mark.parametrize(("settings", "message"), BAD_SETTINGS, ids=("port", "scheme", "retry"))
def test_a_bad_setting_is_named_without_a_traceback(
    command, settings, message, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAYBOOK_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "clients.csv").write_text("client_id,name,timezone,created_at\n")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, command)
    assert result.exit_code in (1, 2), result.output  # check: 2, it could not run the checks
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's own exit, not an error escaping
