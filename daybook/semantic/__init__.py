"""The semantic layer: YAML entities and metrics, compiled through sqlglot for any warehouse.

``load_catalog()`` reads and validates ``semantic/``; ``catalog.compile(...)``
returns a cached ``CompiledQuery`` whose ``sql`` is executed with
``query.parameters(...)``. See ``semantic/README.md`` for the YAML format.
"""

from daybook.semantic.calendar import GRANULARITIES
from daybook.semantic.catalog import Catalog
from daybook.semantic.definitions import AGGREGATIONS, Entity, Metric
from daybook.semantic.dialects import DIALECTS
from daybook.semantic.errors import SemanticError
from daybook.semantic.loader import load_catalog
from daybook.semantic.query import CompiledQuery

__all__ = [
    "AGGREGATIONS",
    "DIALECTS",
    "GRANULARITIES",
    "Catalog",
    "CompiledQuery",
    "Entity",
    "Metric",
    "SemanticError",
    "load_catalog",
]
