"""Building the marts: running the dbt project (models, data tests, unit tests) in process.

One module per job:

* :mod:`~daybook.build.profile`: the dbt profile's environment per backend;
* :mod:`~daybook.build.invoke`: ``run_dbt``, dbt's Python entry point with this
  project's paths and the warehouse's own artifact folders
  (:class:`daybook.dbt_artifacts.DbtArtifacts`);
* :mod:`~daybook.build.results`: ``BuildResult``/``NodeResult`` from dbt's results
  and progress events;
* :mod:`~daybook.build.raw_tables`: the raw schema a first build needs;
* :mod:`~daybook.build.run`: ``run_build`` (``dbt build``) and ``run_models``
  (``dbt run``, each refresh cycle).

Building never publishes, and this package imports neither the serving layer nor the
refresh: :func:`daybook.pipeline.build_and_publish` builds and then publishes, and the
``daybook build`` command (:mod:`daybook.build_cli`) calls it.
"""

from __future__ import annotations

from daybook.build.invoke import run_dbt
from daybook.build.profile import dbt_env
from daybook.build.raw_tables import ensure_raw_tables
from daybook.build.results import BuildResult, NodeResult, build_result, node_results
from daybook.build.run import run_build, run_models
from daybook.dbt_artifacts import DbtArtifacts, manifest_path

__all__ = [
    "BuildResult",
    "DbtArtifacts",
    "NodeResult",
    "build_result",
    "dbt_env",
    "ensure_raw_tables",
    "manifest_path",
    "node_results",
    "run_build",
    "run_dbt",
    "run_models",
]
