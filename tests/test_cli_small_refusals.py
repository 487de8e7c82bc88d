"""Small command-line answers that used to mislead: ``sql --dialect postgresql`` (the URL's
own spelling) refused, dbt's metric name refused without a hint, a folder given to ``load``
called "file not found", a second ``token revoke`` reported as a revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.cli import main


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_sql_takes_postgresql_as_the_postgres_dialect():
    runner = CliRunner()
    common = ["sql", "--metric", "activity-count", "--entity", "user"]
    spelled = runner.invoke(main, [*common, "--dialect", "postgresql"])
    assert spelled.exit_code == 0, spelled.output
    expected = runner.invoke(main, [*common, "--dialect", "postgres"])
    assert expected.exit_code == 0, expected.output
    assert spelled.output == expected.output


def test_sql_with_dbts_metric_name_names_the_api_name():
    result = CliRunner().invoke(
        main, ["sql", "--metric", "activity_count", "--entity", "user", "--dialect", "duckdb"]
    )
    assert result.exit_code == 1
    [line] = _lines(result.output)
    assert "activity_count" in line
    assert "--metric activity-count" in line


def test_sql_with_an_unknown_metric_still_lists_the_valid_ones():
    result = CliRunner().invoke(main, ["sql", "--metric", "no_such_metric", "--entity", "user"])
    assert result.exit_code == 1
    assert "Unknown metric: no_such_metric" in result.output
    assert "activity-count" in result.output


@pytest.mark.parametrize(
    ("inside", "pattern"),
    [
        (["heartbeats-00000.csv", "clients.csv"], "heartbeats*.csv"),
        (["other.parquet"], "*.parquet"),
        ([], "*.parquet"),
    ],
)
def test_load_of_a_folder_says_it_is_a_folder_and_what_to_pass(
    inside, pattern, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"duckdb://{tmp_path / 'w.duckdb'}")
    folder = tmp_path / "deliveries"
    folder.mkdir()
    for name in inside:
        (folder / name).write_text("")
    result = CliRunner().invoke(main, ["load", "heartbeats", str(folder)])
    assert result.exit_code == 1
    [line] = _lines(result.output)
    assert "is a folder" in line
    assert "file not found" not in line
    assert str(folder / pattern) in line
    assert not (tmp_path / "w.duckdb").exists()


def test_revoking_a_revoked_token_says_it_already_was(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", f"duckdb://{tmp_path / 'w.duckdb'}")
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    runner = CliRunner()
    created = runner.invoke(main, ["token", "create", "--all-clients"])
    assert created.exit_code == 0, created.output
    token = _lines(created.output)[-1]
    token_id = _lines(created.output)[0].split()[2]
    first = runner.invoke(main, ["token", "revoke", token_id])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"Revoked token {token_id} at ")
    revoked_at = first.output.strip().removeprefix(f"Revoked token {token_id} at ").rstrip(".")
    for again in (token_id, token):
        second = runner.invoke(main, ["token", "revoke", again])
        assert second.exit_code == 0, second.output
        [line] = _lines(second.output)
        assert "already revoked" in line
        assert revoked_at in line
        assert not line.startswith("Revoked")
