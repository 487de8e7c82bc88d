"""``daybook build`` reports failures: a broken model makes it exit non-zero, naming the node.

The broken model lives in a temporary copy of the dbt project (``DAYBOOK_PROJECT_DIR``),
and only it is selected, so the check costs one small dbt invocation per backend.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from daybook.build_cli import build
from daybook.config import Warehouse, project_dir

BROKEN_MODEL = "broken_on_purpose"


@pytest.fixture
def broken_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the dbt project with one model that cannot run."""
    source = project_dir()
    target = tmp_path / "project"
    target.mkdir()
    shutil.copy(source / "dbt_project.yml", target / "dbt_project.yml")
    shutil.copytree(source / "models", target / "models")
    shutil.copytree(source / "dbt_project", target / "dbt_project")
    shutil.copytree(source / "semantic", target / "semantic")
    (target / "models" / "marts" / f"{BROKEN_MODEL}.sql").write_text(
        "select no_such_column from (select 1 as one) as nothing_here\n"
    )
    monkeypatch.setenv("DAYBOOK_PROJECT_DIR", str(target))
    return target


def test_failing_build_exits_non_zero_and_names_the_node(
    empty_warehouse: Warehouse, broken_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", empty_warehouse.url)
    result = CliRunner().invoke(build, ["--select", BROKEN_MODEL])
    assert result.exit_code != 0
    assert BROKEN_MODEL in result.output
    assert "FAILED" in result.output or "failed" in result.output


TYPO_METRIC = """\
metrics:
  - name: misspelt_filter_activity
    label: Misspelt filter
    type: simple
    type_params:
      measure: total_activity
    filter: |
      {{ Dimension('device__platfrom') }} = 'macos'
"""


def test_semantic_yaml_the_api_refuses_fails_the_build_and_publishes_nothing(
    empty_warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt parses a misspelt dimension inside a ``filter:`` without complaint, and an API
    started on it cannot boot; ``daybook build`` refuses it as ``daybook metrics`` does,
    before dbt runs: non-zero, the file, the metric and the nearest valid name, nothing
    built."""
    from daybook.serving import current_snapshot

    semantic = tmp_path / "semantic"
    shutil.copytree(project_dir() / "semantic", semantic)
    (semantic / "metrics" / "typo.yml").write_text(TYPO_METRIC)
    monkeypatch.setenv("DAYBOOK_SEMANTIC_DIR", str(semantic))
    monkeypatch.setenv("DAYBOOK_DATABASE_URL", empty_warehouse.url)
    result = CliRunner().invoke(build, ["--select", "stg_raw__clients"])
    assert result.exit_code != 0, result.output
    assert "typo.yml" in result.output and "misspelt_filter_activity" in result.output
    assert "did you mean 'device__platform'" in result.output
    assert "Nothing was built" in result.output
    assert "dbt build" not in result.output, "refused before dbt ran"
    if empty_warehouse.backend == "duckdb":
        assert current_snapshot(empty_warehouse) is None
    monkeypatch.delenv("DAYBOOK_SEMANTIC_DIR")  # the shipped YAML passes the same check
    shipped = CliRunner().invoke(build, ["--select", "stg_raw__clients"])
    assert "semantic YAML" not in shipped.output and "misspelt" not in shipped.output
