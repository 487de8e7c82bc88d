"""``daybook metrics`` and ``daybook sql`` through the real console entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner
from support import SHIPPED_SEMANTIC_DIR

from daybook.cli import main
from daybook.semantic import Catalog


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, manifest_path: Path) -> CliRunner:
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(SHIPPED_SEMANTIC_DIR))
    monkeypatch.setenv("DAYBOOK_DBT_MANIFEST", str(manifest_path))
    return CliRunner()


def test_metrics_lists_name_label_entities_description(runner: CliRunner, catalog: Catalog) -> None:
    result = runner.invoke(main, ["metrics"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "LABEL", "ENTITIES", "DESCRIPTION"]
    assert len(lines) == 1 + len(catalog.metrics)
    for line, metric in zip(lines[1:], catalog.metrics.values(), strict=True):
        assert line.startswith(metric.name + " ")
        assert metric.label in line and ",".join(metric.entities) in line
        assert " ".join(metric.description.split()) in line


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery", "trino"])
def test_sql_prints_the_compiled_query_formatted(
    runner: CliRunner, catalog: Catalog, dialect: str
) -> None:
    args = ["sql", "--metric", "user-count", "--entity", "device", "--granularity", "weekly"]
    result = runner.invoke(main, [*args, "--dialect", dialect])
    assert result.exit_code == 0, result.output
    query = catalog.compile(
        metric="user-count", entity="device", granularity="weekly", dialect=dialect
    )
    header, _, body = result.output.partition("\n")
    assert header.startswith("-- user-count per device, weekly")
    assert ", ".join(query.parameter_order) in header
    assert body.rstrip().rstrip(";") == query.pretty_sql()
    assert "\n  " in body  # formatted over several indented lines
    assert sqlglot.parse_one(body.rstrip().rstrip(";"), read=dialect) == sqlglot.parse_one(
        query.sql, read=dialect
    )


def test_sql_prints_the_buckets_shape_the_api_runs(runner: CliRunner, catalog: Catalog) -> None:
    args = ["sql", "--metric", "activity-count", "--entity", "user", "--shape", "buckets"]
    result = runner.invoke(main, [*args, "--dialect", "postgres"])
    assert result.exit_code == 0, result.output
    query = catalog.compile(
        metric="activity-count",
        entity="user",
        granularity="daily",
        dialect="postgres",
        shape="buckets",
    )
    body = result.output.partition("\n")[2]
    assert body.rstrip().rstrip(";") == query.pretty_sql()
    assert "GENERATE_SERIES" not in body.upper()  # no day series: the caller fills the buckets


def test_sql_defaults_to_daily_on_the_configured_warehouse(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    result = runner.invoke(main, ["sql", "--metric", "activity-count", "--entity", "user"])
    assert result.exit_code == 0, result.output
    assert "daily, postgres" in result.output and "%(tenant_id)s" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--metric", "nope", "--entity", "user"],
            "Unknown metric: nope. Valid values: activity-count",
        ),
        (
            ["--metric", "activity-count", "--entity", "robot"],
            "Unknown entity: robot. Valid values: user, device",
        ),
        (
            ["--metric", "user-count", "--entity", "user"],
            "Metric user-count is not defined for entity user",
        ),
        (
            ["--metric", "activity-count", "--entity", "user", "--granularity", "hourly"],
            "Unknown granularity: hourly",
        ),
        (
            ["--metric", "activity-count", "--entity", "user", "--dialect", "oracle"],
            "Unknown dialect: oracle",
        ),
    ],
)
def test_sql_errors_are_one_clear_line_and_exit_1(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(main, ["sql", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and "SELECT" not in result.output


def test_a_broken_catalogue_is_reported_without_a_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "bad.yml").write_text("metrics:\n  - nam: x\n", encoding="utf-8")
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(tmp_path))
    result = runner.invoke(main, ["metrics"])
    assert result.exit_code == 1
    # dbt refuses it (dbt_parse names the file in dbt's message)
    assert f"{tmp_path / 'bad.yml'}" in result.output
    assert "does not have a name attribute" in result.output
    assert "Traceback" not in result.output


def test_the_client_wide_series_is_listed_and_compiled(runner: CliRunner) -> None:
    """``client`` is an entity like the others: ``daybook metrics`` lists it for the metrics
    whose semantic model has it, and its SQL filters by the client alone (no entity id)."""
    listed = runner.invoke(main, ["metrics"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.output.splitlines()[1:]}
    assert " device,client " in rows["user-count"]  # semantic model device_users: no user
    assert " user,device,client " in rows["activity-count"]
    args = ["sql", "--metric", "user-count", "--entity", "client", "--granularity", "monthly"]
    result = runner.invoke(main, [*args, "--dialect", "postgres"])
    assert result.exit_code == 0, result.output
    header, _, body = result.output.partition("\n")
    assert header == (
        "-- user-count per client, monthly, postgres; bound parameters (named): "
        "tenant_id, start_date, end_date"
    )
    assert "%(entity_id)s" not in body and "%(tenant_id)s" in body
    assert "COUNT(DISTINCT f.user_id)" in body
