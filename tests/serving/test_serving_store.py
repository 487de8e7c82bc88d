"""A separate serving store (``DAYBOOK_SERVING_URL``): resolution, answers, tokens, failures.

The sample warehouse is published into a store of each kind (``published``: DuckDB to
PostgreSQL, PostgreSQL to DuckDB, and each into its own kind), and the API over the store
must answer exactly as the independent reference computes from the raw rows. Tokens made
by ``daybook token`` with the serving URL set live in the store and work there; a failed
build publishes nothing; a URL that is the warehouse itself, or not PostgreSQL or DuckDB,
is refused with one clear line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from reference import GRANULARITIES
from served_api import DATA_START, activity_path, expected_body
from support import read_table

from daybook.config import parse_database_url
from daybook.pipeline import build_and_publish
from daybook.publishers import StorePublisher, publisher_for
from daybook.serving import serving_tables
from daybook.serving.store import ServingStoreError, separate_store, serving_store

# --------------------------------------------------------------------------- resolution


def test_without_a_serving_url_the_api_reads_the_warehouse(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    warehouse = parse_database_url(f"duckdb://{tmp_path / 'w.duckdb'}")
    assert separate_store(warehouse) is None
    assert serving_store(warehouse) == warehouse
    monkeypatch.setenv("DAYBOOK_SERVING_URL", "  ")
    assert serving_store(warehouse) == warehouse


@pytest.mark.parametrize(
    "warehouse_url,serving_url",
    [
        ("duckdb:///data/w.duckdb", "duckdb:///data/../data/w.duckdb"),
        ("postgresql://postgres@127.0.0.1:5432/daybook", "postgresql://me@localhost/daybook"),
    ],
)
def test_a_serving_url_naming_the_warehouse_itself_is_refused(warehouse_url, serving_url):
    with pytest.raises(ServingStoreError, match="names the warehouse itself"):
        separate_store(parse_database_url(warehouse_url), serving_url)


@pytest.mark.parametrize("url", ["sc://127.0.0.1:15002", "mysql://x@h/db", "duckdb://"])
def test_a_serving_url_that_is_not_postgresql_or_duckdb_is_refused(url, tmp_path):
    warehouse = parse_database_url(f"duckdb://{tmp_path / 'w.duckdb'}")
    with pytest.raises(ServingStoreError, match="not a serving store"):
        separate_store(warehouse, url)


def test_another_database_is_the_serving_store_and_chooses_the_publisher(tmp_path, monkeypatch):
    warehouse = parse_database_url("postgresql://postgres@127.0.0.1:5432/daybook")
    monkeypatch.setenv("DAYBOOK_SERVING_URL", f"duckdb://{tmp_path / 'serving.duckdb'}")
    store = serving_store(warehouse)
    assert store.backend == "duckdb" and store.duckdb_path == tmp_path / "serving.duckdb"
    assert publisher_for(warehouse) == StorePublisher(store)


def test_commands_refuse_a_bad_serving_url_in_one_line(tmp_path) -> None:
    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "DAYBOOK_DATABASE_URL": url, "DAYBOOK_SERVING_URL": url}
    for command in (["token", "list"], ["build"]):
        done = subprocess.run(
            [sys.executable, "-m", "daybook.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done
        assert "names the warehouse itself" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "w.duckdb").exists(), "nothing was built"


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize("entity", ["user", "device"])
def test_the_api_over_the_store_answers_like_the_reference(published, entity, rng) -> None:
    api = published.api
    metrics = [metric.name for metric in api.app.extensions["daybook"].catalog.metrics_for(entity)]
    candidates = api.active_entities(entity)
    token = api.token()
    for _ in range(12):
        client, entity_id = rng.choice(candidates)
        metric = rng.choice(metrics)
        granularity = rng.choice(GRANULARITIES)
        start = DATA_START + timedelta(days=rng.randint(-20, 181))
        end = start + timedelta(days=rng.randint(0, 89))
        params = {
            "metric": metric,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "granularity": granularity,
        }
        response = api.get(activity_path(client, entity, entity_id), token, params=params)
        assert response.status_code == 200, (params, response.text)
        expected = expected_body(api, entity, client, entity_id, metric, start, end, granularity)
        assert response.json() == expected, params
        assert response.headers.get("Last-Modified"), "the store carries the data's freshness"


def test_the_store_holds_the_served_marts_and_the_api_reads_only_the_store(published) -> None:
    settings = published.api.app.extensions["daybook"].settings
    assert settings.warehouse == published.store
    for table in serving_tables():
        built = read_table(published.warehouse, f"select count(*) as n from {table}")[0]["n"]
        assert built > 0
        reader = published.api.app.extensions["daybook"].reader  # reads the store alone
        assert reader.fetch_all(f"select count(*) from {table}", [])[0][0] == built, table


def test_a_postgresql_store_indexes_the_lookups_and_leaves_no_staging_schema(published_stores):
    store = published_stores[("duckdb", "postgres")].store
    indexes = read_table(
        store,
        "select indexdef from pg_indexes where schemaname = 'public' "
        "and tablename = 'fct_user_activity_daily'",
    )
    definitions = " ".join(row["indexdef"] for row in indexes)
    assert "(client_id, user_id, activity_date)" in definitions
    assert "(refreshed_at_utc)" in definitions
    schemas = read_table(
        store, "select nspname from pg_namespace where nspname like 'daybook_%' order by 1"
    )
    assert {row["nspname"] for row in schemas} <= {"daybook_auth", "daybook_meta"}


# --------------------------------------------------------------------------- failures


@dataclass
class FailedBuild:
    success: bool = False
    nodes: tuple = ()

    def summary(self) -> str:
        return "model fct_activity_daily failed"


@pytest.mark.parametrize("pair", [("duckdb", "postgres"), ("postgres", "duckdb")])
def test_a_failed_build_publishes_nothing(published_stores, pair) -> None:
    published = published_stores[pair]
    publisher = StorePublisher(published.store)
    before = publisher.describe(published.warehouse)
    version = published.api.app.extensions["daybook"].reader.data_version()
    outcome = build_and_publish(
        published.warehouse, build=lambda warehouse: FailedBuild(), publisher=publisher
    )
    assert not outcome.success and outcome.publication is None
    assert publisher.describe(published.warehouse) == before
    assert published.api.app.extensions["daybook"].reader.data_version() == version


# --------------------------------------------------------------------------- tokens


def _cli(published, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAYBOOK_DATABASE_URL": published.warehouse.url,
        "DAYBOOK_SERVING_URL": published.store.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "daybook.cli", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.parametrize("pair", [("duckdb", "postgres"), ("postgres", "duckdb")])
def test_tokens_made_by_the_cli_live_in_the_store_and_work_there(published_stores, pair):
    from daybook.tokens import open_token_store
    from daybook.tokens.format import token_id_of

    published = published_stores[pair]
    api = published.api
    client, user = api.active_entities("user")[0]
    token = _cli(published, "create", "--client", client).stdout.strip().splitlines()[-1]
    token_id = token_id_of(token)
    assert token_id is not None and token_id in _cli(published, "list").stdout
    assert token_id in {record.token_id for record in open_token_store(published.store).list()}
    assert token_id not in {
        record.token_id for record in open_token_store(published.warehouse).list()
    }, "the warehouse's own token store is not the one the API reads"
    path = activity_path(client, "user", user)
    params = {"metric": "activity-count", "start_date": "2026-01-01", "end_date": "2026-01-31"}
    answer = api.get(path, token, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected_body(
        api,
        "user",
        client,
        user,
        "activity-count",
        date(2026, 1, 1),
        date(2026, 1, 31),
        "daily",
    )
    _cli(published, "revoke", token)
    assert api.get(path, token, params=params).status_code == 401


def test_publishing_again_with_nothing_new_moves_the_version_and_keeps_the_answers(published):
    """The second publish takes the changes path (no key rewritten since): nothing to copy
    for the facts, a new data version, the same answers."""
    api = published.api
    reader = api.app.extensions["daybook"].reader
    before = reader.data_version()
    StorePublisher(published.store).publish(published.warehouse)
    assert reader.data_version() != before
    client, user = api.active_entities("user")[0]
    start, end = DATA_START, DATA_START + timedelta(days=89)
    params = {"metric": "activity-count", "start_date": str(start), "end_date": str(end)}
    answer = api.get(activity_path(client, "user", user), api.token(), params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected_body(
        api, "user", client, user, "activity-count", start, end, "daily"
    )
