"""``daybook build -s X`` where X matches no dbt node fails, naming X, and builds and
publishes nothing. It used to print "build succeeded", exit 0 and publish a snapshot."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from support import read_table

from daybook.cli import main
from daybook.config import Warehouse
from daybook.serving.pointer import serving_dir

pytestmark = pytest.mark.build


@pytest.fixture
def duck(make_warehouse, monkeypatch) -> Warehouse:
    warehouse = make_warehouse("duckdb")
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", warehouse.url)
    monkeypatch.delenv("DAYBOOK_SERVING_URL", raising=False)
    return warehouse


def _built_tables(warehouse: Warehouse) -> list[str]:
    rows = read_table(
        warehouse,
        "select table_name from information_schema.tables "
        "where table_catalog = 'daybook' and table_schema <> 'raw'",
    )
    return [row["table_name"] for row in rows]


@pytest.mark.parametrize(
    "selection",
    [["no_such_model"], ["stg_raw__clients", "no_such_model"]],
    ids=["typo-alone", "typo-among-others"],
)
def test_a_selection_matching_nothing_fails_and_publishes_nothing(
    selection: list[str], duck: Warehouse
) -> None:
    args = ["build"] + [part for name in selection for part in ("-s", name)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "succeeded" not in result.output
    last = [line for line in result.output.splitlines() if line.strip()][-1]
    assert "'no_such_model' matches no dbt" in last
    assert "Traceback" not in result.output
    assert not serving_dir(duck).exists()
    assert not _built_tables(duck)  # the matching selector built nothing either


def test_a_selection_that_matches_still_builds(duck: Warehouse) -> None:
    result = CliRunner().invoke(main, ["build", "-s", "stg_raw__clients"])
    assert "stg_raw__clients" in _built_tables(duck)
    # the marts the API reads are not built yet: nothing to publish, said in one line
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    last = [line for line in result.output.splitlines() if line.strip()][-1]
    assert "the build succeeded but was not published" in last
