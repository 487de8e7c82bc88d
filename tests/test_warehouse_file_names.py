"""Any DuckDB warehouse file name works for load, build, check and a metric query (issue 12).

DuckDB names a file's catalog after the file: ``main.duckdb`` became ``main_db``
(dbt then failed: "Catalog main does not exist") and ``raw.duckdb`` became
``raw``, ambiguous with the ``raw`` schema. The file is now always attached
as ``daybook``. Expected metric values come from the plain-Python reference.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from reference import compute, series
from served_api import plain_row
from support import read_table

from daybook.build import manifest_path
from daybook.build_cli import build
from daybook.config import parse_database_url
from daybook.generate import generate_dataset
from daybook.load.cli import load
from daybook.semantic.loader import load_catalog
from daybook.serving import current_snapshot
from daybook.warehouse import connection

TABLES = ("clients", "users", "devices", "heartbeats")


@pytest.fixture(scope="module")
def raw_files(tmp_path_factory) -> dict[str, list[Path]]:
    return generate_dataset(
        tmp_path_factory.mktemp("names-raw"), heartbeats=400, seed=5, file_format="csv", days=20
    )


def invoke(command, args: list[str]) -> str:
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", ["main.duckdb", "my data.v2.duckdb"])
def test_a_warehouse_file_of_any_name_loads_builds_checks_and_answers(
    name, raw_files, tmp_path, monkeypatch
):
    from daybook.quality.cli import check

    warehouse = parse_database_url(f"duckdb://{tmp_path / name}")
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)
    monkeypatch.chdir(tmp_path)  # Data Docs and the like stay in the test's folder
    for table in TABLES:
        invoke(load, [table, *map(str, raw_files[table])])
    invoke(build, [])
    invoke(check, [])

    raw = {
        table: [plain_row(row) for row in read_table(warehouse, f"select * from raw.{table}")]
        for table in TABLES
    }
    reference = compute(raw["clients"], raw["users"], raw["devices"], raw["heartbeats"])
    (client_id, _day, user_id, _device), _ = max(reference.activity.items(), key=lambda i: i[0])
    start, end = date(2025, 10, 1), date(2025, 10, 25)
    expected = series(
        reference,
        entity="user",
        client_id=client_id,
        entity_id=user_id,
        metric="activity-count",
        start=start,
        end=end,
        granularity="weekly",
    )
    assert any(value for _, value in expected)
    catalog = load_catalog(manifest_path=manifest_path(warehouse))
    query = catalog.compile(
        metric="activity-count", entity="user", granularity="weekly", dialect="duckdb"
    )
    params = query.parameters(
        tenant_id=client_id, entity_id=user_id, start_date=start, end_date=end
    )
    with connection(warehouse, read_only=True) as con:  # the build file
        assert [tuple(row) for row in con.execute(query.sql, params).fetchall()] == expected
    import duckdb

    snapshot = current_snapshot(warehouse)  # what `daybook serve` reads
    assert snapshot is not None
    with duckdb.connect(str(snapshot.path), read_only=True) as con:
        assert [tuple(row) for row in con.execute(query.sql, params).fetchall()] == expected


@pytest.mark.parametrize(
    "stem", ["raw", "system", "temp", "daybook_meta", "main_staging", "memory", "a-b c"]
)
def test_names_that_collide_with_catalogs_or_schemas_load_and_read_back(
    stem, raw_files, tmp_path, monkeypatch
):
    warehouse = parse_database_url(f"duckdb://{tmp_path / (stem + '.duckdb')}")
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)
    invoke(load, ["clients", *map(str, raw_files["clients"])])
    invoke(load, ["heartbeats", *map(str, raw_files["heartbeats"])])
    with connection(warehouse, read_only=True) as con:
        cursor = con.cursor()
        cursor.execute("select count(*) from raw.heartbeats")
        assert cursor.fetchone()[0] == sum(
            len(path.read_text().splitlines()) - 1 for path in raw_files["heartbeats"]
        )
