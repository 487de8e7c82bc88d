"""dbt's metric types (simple, ratio, derived, cumulative) compiled to SQL by sqlglot.

``compile_metric(view, metric, entity, granularity, dialect)`` is the one entry point,
for every metric the catalogue serves;
``ManifestView`` indexes the ``PydanticSemanticManifest`` dbt writes
(``target/semantic_manifest.json``). See ``semantic/README.md``, "Metric types".
"""

from daybook.semantic.metric_sql.compile import (
    SHAPES,
    check_metric,
    compile_metric,
    metric_entities,
)
from daybook.semantic.metric_sql.view import ManifestView

__all__ = ["SHAPES", "ManifestView", "check_metric", "compile_metric", "metric_entities"]
