"""Compatibility shim: dbt's paths are :class:`daybook.dbt_artifacts.DbtArtifacts` now.

Kept only while :mod:`daybook.serving.snapshots` still imports ``manifest_path`` from
here (it should call ``DbtArtifacts.of(warehouse).manifest().incremental_keys(...)``);
delete this module then.
"""

from __future__ import annotations

from daybook.dbt_artifacts import manifest_path

__all__ = ["manifest_path"]
