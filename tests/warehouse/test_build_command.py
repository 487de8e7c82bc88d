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
