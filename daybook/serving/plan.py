"""What a publish copies: the marts the API reads, their sort orders, keys and indexes.

All of it is derived, none written down here: the tables and sort orders from the
semantic registry (:func:`daybook.serving.snapshots.serving_tables`), the incremental
keys from the warehouse's dbt manifest, the indexes of a PostgreSQL store from the
registry's entities (the lookups the API's compiled queries make: one entity's days
under a tenant, a tenant's days for the rankings), and which tables a build rewrote
from the build's result.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from daybook.build.results import Built

REFRESHED_COLUMN = "refreshed_at_utc"


def serving_indexes(
    tables: Mapping[str, Sequence[str]], columns: Mapping[str, Collection[str]]
) -> dict[str, list[tuple[str, ...]]]:
    """Index column lists per table for a PostgreSQL store.

    Each table gets its sort order (tenant, entity key, day: one entity's rows); a table
    with the day column also gets (tenant, day) and (tenant, other entity key, day) for
    each entity key it holds, as the warehouse's own marts have; an incremental mart (a
    ``refreshed_at_utc`` column) gets that column, the watermark of the next publish.
    """
    from daybook.semantic.loader import load_registry

    registry = load_registry(check_manifest=False)
    tenant = registry.require_tenant().key
    day = registry.day_column
    keys = [entity.key for entity in registry.listed_entities()]
    out: dict[str, list[tuple[str, ...]]] = {}
    for name, order in tables.items():
        present = set(columns.get(name, ()))
        wanted: list[tuple[str, ...]] = [tuple(column for column in order if column in present)]
        if day in present and tenant in present:
            wanted.append((tenant, day))
            wanted += [(tenant, key, day) for key in keys if key in present]
        if REFRESHED_COLUMN in present:
            wanted.append((REFRESHED_COLUMN,))
        out[name] = [index for index in dict.fromkeys(wanted) if index]
    return out


def rows_of_keys_refreshed_since(name: str, key: Sequence[str], placeholder: str) -> str:
    """A filter on mart ``name``: every row of each ``key`` that has a row refreshed after
    the bound ``placeholder`` (a store's newest ``refreshed_at_utc``). Why whole keys: a
    store replaces a key's rows together (delete, then insert), so a key some of whose
    rows a refresh left alone is still copied in full."""
    key_list = ", ".join(key)
    return (
        f"({key_list}) in (select distinct {key_list} from {name} "
        f"where {REFRESHED_COLUMN} > {placeholder})"
    )


def rewritten_tables(built: Built | None, tables: Collection[str]) -> set[str] | None:
    """The serving tables the build wrote (its successful model nodes), or None when the
    build's result does not say (no result, or a stand-in without nodes): then all."""
    nodes: Any = getattr(built, "nodes", None)
    if not nodes:
        return None
    written = {node.name for node in nodes if node.type == "model" and node.status == "success"}
    return {name for name in tables if name in written}


def incremental_keys(warehouse: Any, tables: Collection[str]) -> dict[str, list[str]]:
    """The dbt ``unique_key`` of each incremental serving mart, from the warehouse's
    manifest (none without one: every table is then copied whole)."""
    from daybook.serving.snapshots import _incremental_keys

    return _incremental_keys(warehouse, tables)
