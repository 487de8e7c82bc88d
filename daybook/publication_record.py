"""Which serving targets hold the warehouse's last build: a record in its state folder.

Each command publishes a build to one target: the serving store ``DAYBOOK_SERVING_URL``
names, else the warehouse's own (DuckDB or Spark snapshots). A user may switch targets
between commands (a store for speed, then back), and a publish may fail after its build
succeeded. Either way a target can serve an older build than the warehouse holds while
raw is unchanged, so a refresh that looked at raw alone would skip it for good. The
record says which targets hold the last build: every successful build starts a new one
(:func:`note_build`), every publish adds its target for the build it published
(:func:`note_published`), and a refresh with nothing new still publishes to a target not
in it (:func:`daybook.pipeline.publish_if_behind`).

Writers (a build, a refresh, ``daybook serve``'s first publish) may run at once, so each
change is made under a lock, and a publish is noted only for the build it started from: a
build that finished meanwhile is not taken as published.
"""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse

RECORD_FILE = "publications.json"


def _path(warehouse: Warehouse) -> Path:
    return warehouse.state_dir / RECORD_FILE


@contextmanager
def _locked(warehouse: Warehouse) -> Iterator[None]:
    """Hold the record's lock (a file beside it) while reading and rewriting it."""
    lock_path = _path(warehouse).with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(warehouse: Warehouse) -> dict | None:
    try:
        record = json.loads(_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    valid = isinstance(record, dict) and isinstance(record.get("targets"), list)
    return record if valid and "build" in record else None


def note_build(warehouse: Warehouse) -> str:
    """A build succeeded: no target holds it yet. Returns the build's id."""
    build = uuid.uuid4().hex
    with _locked(warehouse):
        write_json_atomically(_path(warehouse), {"build": build, "targets": []})
    return build


def last_build(warehouse: Warehouse) -> str | None:
    """The id of the last recorded build (None before the first)."""
    record = _read(warehouse)
    return None if record is None else str(record["build"])


def note_published(warehouse: Warehouse, target: str, build: str | None) -> None:
    """``target`` now serves ``build`` (read before publishing); noted only while it is
    still the last build."""
    if build is None:
        return
    with _locked(warehouse):
        record = _read(warehouse)
        if record is not None and record["build"] == build and target not in record["targets"]:
            record["targets"].append(target)
            write_json_atomically(_path(warehouse), record)


def holds_last_build(warehouse: Warehouse, target: str) -> bool | None:
    """Whether ``target`` serves the last build; None when no build was recorded (a
    warehouse built before this record, or by dbt alone)."""
    record = _read(warehouse)
    return None if record is None else target in record["targets"]
