"""Invoking dbt on this project against a warehouse, in process.

dbt is driven through its Python entry point (``dbtRunner``) rather than a
subprocess, so results come back as objects we can summarise and test. Project,
profile, target and the warehouse's own artifact folders
(:class:`~daybook.dbt_artifacts.DbtArtifacts`) are added to every invocation here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from daybook.build.profile import dbt_env, profiles_dir
from daybook.config import Warehouse, project_dir
from daybook.dbt_artifacts import DbtArtifacts

QUIET_DBT = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation, then restore the previous ones."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(
    warehouse: Warehouse,
    args: list[str],
    *,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Invoke dbt (``dbtRunner``) on this project against ``warehouse``; the dbtRunnerResult.

    ``args`` is the dbt command and its own options (``["build", "--full-refresh"]``,
    ``["docs", "generate"]``, ``["parse"]``); project, profiles, target and
    per-warehouse artifact paths are added here.
    """
    from dbt.cli.main import dbtRunner

    artifacts = DbtArtifacts.of(warehouse)
    artifacts.root.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(project_dir()),
        "--profiles-dir",
        str(profiles_dir()),
        "--target",
        warehouse.backend,
        "--target-path",
        str(artifacts.target_path),
        "--log-path",
        str(artifacts.log_path),
    ]
    with _environment(dbt_env(warehouse) | QUIET_DBT):
        return dbtRunner(callbacks=callbacks or []).invoke(command)
