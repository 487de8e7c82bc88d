"""The suite files and the DuckDB fix, without a built warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from daybook.quality import duckdb_dialect
from daybook.quality.runner import _expectation, select_suites
from daybook.quality.suites import (
    SuiteFileError,
    load_settings,
    load_suites,
    render_query,
    runtime_parameters,
)


def _quarantine_reasons() -> set[str]:
    """The reasons the validated model may write: its dbt accepted-values test, read as YAML."""
    models = Path(__file__).parents[2] / "models" / "intermediate" / "_intermediate__models.yml"
    for model in yaml.safe_load(models.read_text())["models"]:
        for column in model.get("columns", []):
            if column["name"] == "invalid_reasons":
                for test in column["data_tests"]:
                    if "accepted_list_values" in test:
                        return set(test["accepted_list_values"]["arguments"]["values"])
    raise AssertionError("invalid_reasons has no accepted_list_values test")


QUARANTINE_REASONS = _quarantine_reasons()


def test_duckdb_results_survive_the_connection_closing(tmp_path: Path) -> None:
    """GX reads a result after closing its connection; on DuckDB that used to yield nothing."""
    duckdb_dialect.register()
    engine = sa.create_engine(f"duckdb+daybook:///{tmp_path / 'x.duckdb'}")
    with engine.connect() as connection:
        first = connection.execute(sa.text("select 41 + 1 as answer"))
        second = connection.execute(sa.text("select * from range(3)"))
    assert first.fetchall() == [(42,)]
    assert [row[0] for row in second.fetchall()] == [0, 1, 2]
    engine.dispose()


def test_every_suite_file_builds_real_gx_expectations() -> None:
    suites = load_suites()
    assert {suite.suite for suite in suites} >= {
        "raw.heartbeats",
        "raw.clients",
        "raw.users",
        "raw.devices",
        "marts",
        "quarantine",
    }
    for suite in suites:
        for batch in suite.batches:
            for spec in batch.expectations:
                expectation = _expectation(spec, suite, batch)
                assert expectation.expectation_type == spec.type
                assert expectation.meta["daybook_severity"] == spec.severity


def test_raw_problems_are_warnings_and_broken_marts_are_errors() -> None:
    for suite in load_suites():
        severities = {spec.severity for b in suite.batches for spec in b.expectations}
        expected = {"error"} if suite.suite == "marts" else {"warning"}
        assert severities == expected, suite.suite


def test_reasons_name_quarantine_reasons_and_every_reason_is_counted() -> None:
    by_suite = {
        suite.suite: {spec.reason for b in suite.batches for spec in b.expectations if spec.reason}
        for suite in load_suites()
    }
    used = set().union(*by_suite.values())
    assert used <= QUARANTINE_REASONS
    assert by_suite["quarantine"] == QUARANTINE_REASONS
    assert by_suite["raw.heartbeats"] == QUARANTINE_REASONS


def test_queries_render_with_settings_and_runtime_parameters() -> None:
    settings = load_settings()
    params = runtime_parameters(settings)
    assert "Europe/Paris" in params["iana_time_zones"]
    assert params["max_duplicate_share"] == settings.parameters["max_duplicate_share"]
    assert params["latest_plausible_utc"] > str(settings.parameters["earliest_plausible_utc"])
    for suite in load_suites():
        for batch in suite.batches:
            sql = render_query(batch.query, settings, params)
            assert "${" not in sql


def test_an_aggregate_is_observed_under_its_expectation_s_name() -> None:
    """The console prints an expectation's name and Data Docs head it by its column, so a
    column that exists for one expectation is named as it (one name, not two: the console
    said timestamps_plausible where Data Docs said implausible_timestamps)."""
    for suite in load_suites():
        for batch in suite.batches:
            columns = [spec.kwargs.get("column") for spec in batch.expectations]
            for spec in batch.expectations:
                column = spec.kwargs.get("column")
                if column is None or columns.count(column) > 1:
                    continue  # a compound key, or a data column several expectations read
                if spec.type.startswith(
                    (
                        "expect_column_max",
                        "expect_column_min",
                        "expect_column_sum",
                        "expect_column_values_to_be_null",
                    )
                ):
                    assert column == spec.name, (suite.suite, spec.name, column)


def test_unknown_placeholder_is_a_clear_error() -> None:
    settings = load_settings()
    with pytest.raises(SuiteFileError, match="unknown or malformed placeholder"):
        render_query("select * from ${no_such_relation}", settings, {})


def test_duplicate_expectation_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.yml").write_text("relations: {}\n")
    expectation = (
        "      - {name: same, type: expect_table_row_count_to_be_between,"
        " kwargs: {min_value: 0}, severity: error, description: d}\n"
    )
    (tmp_path / "s.yml").write_text(
        "suite: s\ndescription: d\nbatches:\n  - name: b\n    description: d\n"
        "    query: select 1 as x\n    expectations:\n" + expectation * 2
    )
    with pytest.raises(SuiteFileError, match="duplicate expectation names"):
        load_suites(tmp_path)


def test_unknown_suite_name_lists_the_valid_ones() -> None:
    with pytest.raises(SuiteFileError, match=r"Valid suites: .*marts"):
        select_suites(load_suites(), ["nope"])


def test_a_check_releases_the_duckdb_file_and_keeps_other_files_in_the_docs_folder(
    tmp_path: Path,
) -> None:
    import duckdb

    from daybook.config import parse_database_url
    from daybook.quality import run_checks
    from daybook.raw_schema import RAW_TABLES

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(RAW_TABLES["clients"].create_sql())
        con.execute("insert into raw.clients values ('c1', 'Acme', 'Mars/Olympus', now())")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keep.txt").write_text("mine")
    (docs / "index.html").write_text("old run")

    report = run_checks(
        parse_database_url(f"duckdb://{path}"), docs_dir=docs, suites=["raw.clients"]
    )

    assert report.finding("raw.clients", "timezone_is_iana").count == 1
    assert (docs / "keep.txt").read_text() == "mine"
    assert "old run" not in (docs / "index.html").read_text()
    with duckdb.connect(str(path)) as con:  # read-write again: GX let go of the file
        con.execute("insert into raw.clients values ('c2', 'Beta', 'UTC', now())")


TEAM_YAML = """
entities:
  - name: team
    label: Team
    model: dim_teams
    key: team_id
    tenant_key: client_id
    daily_model: fct_team_activity_daily
"""


def _semantic_with_team(tmp_path: Path, renames: dict[str, str]) -> Path:
    """A copy of semantic/ with a team entity added and the ``old: new`` models renamed."""
    import shutil

    semantic = tmp_path / "semantic"
    shutil.copytree(Path(__file__).parents[2] / "semantic", semantic)
    (semantic / "team.yml").write_text(TEAM_YAML)
    for path in semantic.rglob("*.yml"):
        text = path.read_text()
        for old, new in renames.items():
            text = text.replace(f"model: {old}\n", f"model: {new}\n")
        path.write_text(text)
    return semantic


def test_the_marts_checks_follow_the_semantic_yaml(tmp_path: Path) -> None:
    """A team entity added and the activity mart renamed in semantic/ alone: the marts suite
    gains the team's checks, every query reads the renamed mart and none the old name, and
    the team's span check, run on a small DuckDB, finds exactly the days a plain-Python
    walk over the same rows finds missing or outside the span."""
    from datetime import date, timedelta

    import duckdb

    from daybook.semantic.loader import load_registry

    shipped = yaml.safe_load((Path(__file__).parents[2] / "semantic" / "entities.yml").read_text())
    old_activity = next(m["model"] for m in shipped["marts"] if m["name"] == "activity")
    semantic = _semantic_with_team(tmp_path, {old_activity: "fct_day_activity"})
    registry = load_registry(semantic, check_manifest=False)
    settings = load_settings(registry=registry)
    params = runtime_parameters(settings)
    (marts,) = [suite for suite in load_suites(registry=registry) if suite.suite == "marts"]
    batches = {batch.name: batch for batch in marts.batches}
    with_daily = [entity for entity in shipped["entities"] if "daily_model" in entity]
    for entity in [*with_daily, yaml.safe_load(TEAM_YAML)["entities"][0]]:
        assert {f"{entity['name']}_spans", entity["daily_model"]} <= set(batches)
        assert f"{entity['name']}_daily_reconciles" in marts.expectation_names()
    queries = {name: render_query(b.query, settings, params) for name, b in batches.items()}
    assert not any(old_activity in sql for sql in queries.values())
    assert "fct_day_activity" in queries["reconciliation"]

    # Team spans: t1 complete, t2 missing one day, t3 with a day before its span.
    latest = date(2026, 1, 10)
    starts = {"t1": date(2026, 1, 4), "t2": date(2026, 1, 6), "t3": date(2026, 1, 8)}
    dense = {
        team: [start + timedelta(days=i) for i in range((latest - start).days + 1)]
        for team, start in starts.items()
    }
    dense["t2"].remove(date(2026, 1, 7))
    dense["t3"].insert(0, date(2026, 1, 7))
    con = duckdb.connect()
    con.execute(
        "create table fct_day_activity (client_id varchar, team_id varchar, activity_date date)"
    )
    con.execute(
        "insert into fct_day_activity values ('c', 't1', ?), ('c', 't1', ?)", [starts["t1"], latest]
    )
    con.execute(
        "create table dim_teams (client_id varchar, team_id varchar, active_from_date date)"
    )
    con.executemany("insert into dim_teams values ('c', ?, ?)", list(starts.items()))
    con.execute(
        "create table fct_team_activity_daily "
        "(client_id varchar, team_id varchar, activity_date date)"
    )
    con.executemany(
        "insert into fct_team_activity_daily values ('c', ?, ?)",
        [(team, day) for team, days in dense.items() for day in days],
    )
    con.execute(
        "create table dim_dates as select range::date as date_day"
        " from range(date '2025-12-01', date '2026-02-01', interval 1 day)"
    )
    cursor = con.execute(queries["team_spans"])
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    found = {row["team_id"]: (row["missing_days"], row["days_outside_span"]) for row in rows}
    expected = {}
    for team, start in starts.items():
        span = {start + timedelta(days=i) for i in range((latest - start).days + 1)}
        expected[team] = (len(span - set(dense[team])), len(set(dense[team]) - span))
    assert found == expected
    assert expected["t2"] == (1, 0) and expected["t3"] == (0, 1)  # the rows hold both faults
    # the examples name the team and the day: the day missing, the day outside the span
    examples = {
        row["team_id"]: (row["team_days_complete"], row["team_days_within_span"]) for row in rows
    }
    assert examples["t1"] == (None, None)
    assert examples["t2"][0].startswith("client_id=c, team_id=t2: 2026-01-07 missing")
    assert examples["t3"][1].startswith("client_id=c, team_id=t3: 2026-01-07 outside")
