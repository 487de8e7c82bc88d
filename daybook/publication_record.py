"""Which serving targets hold the warehouse's last build: a record in its state folder.

Each command publishes a build to one target: the serving store ``DAYBOOK_SERVING_URL``
names, else the warehouse's own (DuckDB or Spark snapshots, PostgreSQL's tables). A user
may switch targets between commands (a store for speed, then back), and a publish may fail
after its build succeeded. Either way a target can serve an older build than the warehouse
holds, while raw is unchanged, so a refresh that looks at raw alone would skip it for
good. The record says which targets hold the last build: every successful build starts a
new one (:func:`note_build`), every publish adds its target (:func:`note_published`), and
a refresh with nothing new still publishes to a target not in it
(:func:`daybook.pipeline.publish_if_behind`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse

RECORD_FILE = "publications.json"


def _path(warehouse: Warehouse) -> Path:
    return warehouse.state_dir / RECORD_FILE


def _read(warehouse: Warehouse) -> dict | None:
    try:
        record = json.loads(_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "build" in record else None


def note_build(warehouse: Warehouse) -> None:
    """A build succeeded: no target holds it yet."""
    write_json_atomically(_path(warehouse), {"build": uuid.uuid4().hex, "targets": []})


def note_published(warehouse: Warehouse, target: str) -> None:
    """``target`` now serves the last build (nothing to note before a recorded build)."""
    record = _read(warehouse)
    if record is not None and target not in record["targets"]:
        record["targets"].append(target)
        write_json_atomically(_path(warehouse), record)


def holds_last_build(warehouse: Warehouse, target: str) -> bool | None:
    """Whether ``target`` serves the last build; None when no build was recorded (a
    warehouse built before this record, or by dbt alone)."""
    record = _read(warehouse)
    return None if record is None else target in record["targets"]
