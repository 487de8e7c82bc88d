"""Which dbt manifest the semantic layer checks against, and the models it documents.

The semantic layer checks every model and column it names against the manifest, so a
metric cannot point at a column that dbt does not build and document. The manifest is
parsed by :mod:`daybook.dbt_artifacts` (the one reader); this module picks the file
and turns its errors into :class:`SemanticError`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from daybook.config import project_dir
from daybook.dbt_artifacts import Manifest, ManifestError, read_manifest
from daybook.semantic.errors import SemanticError

ENV_MANIFEST = "DAYBOOK_DBT_MANIFEST"


def default_manifest_path() -> Path | None:
    """The manifest to check definitions against, or ``None`` when dbt has not run.

    ``DAYBOOK_DBT_MANIFEST`` if set; else the manifest of the last ``daybook build``
    of the configured warehouse (``DAYBOOK_DATABASE_URL``); else a ``target/``
    in the project checkout.
    """
    override = os.environ.get(ENV_MANIFEST)
    if override:
        return Path(override)
    from daybook.config import ConfigError, warehouse_from_env
    from daybook.dbt_artifacts import DbtArtifacts

    candidates = []
    with contextlib.suppress(ConfigError):
        candidates.append(DbtArtifacts.of(warehouse_from_env()).manifest_path)
    for candidate in (
        *candidates,
        project_dir() / "target" / "manifest.json",
        project_dir() / "dbt_project" / "target" / "manifest.json",
    ):
        if candidate.is_file():
            return candidate
    return None


def dbt_manifest(manifest_path: Path) -> Manifest:
    """The dbt manifest's models (documented columns and their types); ``SemanticError``
    naming the file when it cannot be read."""
    try:
        return read_manifest(manifest_path)
    except ManifestError as error:
        raise SemanticError(str(error)) from None
