"""The snapshot files of a DuckDB warehouse and the pointer naming the current one.

One job: where snapshots live (``<state_dir>/serving/``), what the JSON pointer
says about the current one, switching it atomically (write a temporary file,
then ``os.replace``) and removing old files. Publishing (``snapshots.py``)
writes through it; readers (``reader.py``, ``freshness.py``) only read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from daybook.atomic_json import write_json_atomically
from daybook.config import Warehouse
from daybook.serving._util import _iso, _parse_iso

POINTER_NAME = "CURRENT.json"
KEEP_SNAPSHOTS = 3
GRACE_SECONDS = 120.0


class ServingError(RuntimeError):
    """A snapshot cannot be published or read; the message says which and why."""


@dataclass(frozen=True)
class Snapshot:
    """One published, immutable copy of the serving tables (DuckDB only)."""

    id: str
    path: Path
    newest_received_at: datetime | None
    built_at: datetime
    generation: int = 0  # publishes since the last full copy

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.path.name,
            "newest_received_at": _iso(self.newest_received_at),
            "built_at": _iso(self.built_at),
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, folder: Path, data: dict[str, Any]) -> Snapshot:
        return cls(
            id=data["id"],
            path=folder / data["file"],
            newest_received_at=_parse_iso(data.get("newest_received_at")),
            built_at=_parse_iso(data["built_at"]) or datetime.now(UTC),
            generation=int(data.get("generation") or 0),
        )


def serving_dir(warehouse: Warehouse) -> Path:
    """The folder holding a DuckDB warehouse's snapshots and their pointer."""
    return warehouse.state_dir / "serving"


class NewSnapshotFiles(NamedTuple):
    """Where a snapshot about to be published is written: ``partial`` while it is being
    filled, renamed to ``final`` once complete, so a reader never opens a half-written file."""

    snapshot_id: str
    built_at: datetime
    final: Path
    partial: Path


def new_snapshot_files(warehouse: Warehouse) -> NewSnapshotFiles:
    """A new snapshot's id (its UTC time first, so names sort by age, which
    :func:`collect_garbage` relies on) and its files in the warehouse's serving folder."""
    folder = serving_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    built_at = datetime.now(UTC)
    snapshot_id = f"{built_at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
    final = folder / f"snapshot-{snapshot_id}.duckdb"
    return NewSnapshotFiles(snapshot_id, built_at, final, final.with_name(f"{final.name}.partial"))


def current_snapshot(warehouse: Warehouse) -> Snapshot | None:
    """The snapshot the pointer names now, or None before the first publish."""
    return _read_pointer(serving_dir(warehouse))


def collect_garbage(
    warehouse: Warehouse, *, keep: int = KEEP_SNAPSHOTS, grace_seconds: float = GRACE_SECONDS
) -> list[Path]:
    """Delete snapshot files beyond the newest ``keep`` once they are older than the grace.

    The grace covers a reader that read the old pointer but has not opened the
    file yet; readers that already hold a file open keep it until they close.
    """
    folder = serving_dir(warehouse)
    current = current_snapshot(warehouse)
    files = sorted(folder.glob("snapshot-*.duckdb*"), key=lambda path: path.name, reverse=True)
    finished = [path for path in files if path.suffix == ".duckdb"]
    keep_names = {path.name for path in finished[:keep]}
    if current is not None:
        keep_names.add(current.path.name)
    removed = []
    now = time.time()
    for path in files:
        if path.name in keep_names:
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime >= grace_seconds:
                path.unlink()
                removed.append(path)
    return removed


def _write_pointer(folder: Path, snapshot: Snapshot) -> None:
    write_json_atomically(folder / POINTER_NAME, snapshot.to_json())


def _read_pointer(folder: Path) -> Snapshot | None:
    try:
        data = json.loads((folder / POINTER_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Snapshot.from_json(folder, data)


def pointer_stamp(pointer: Path) -> tuple[int, int, int] | None:
    """What changes when the pointer file is replaced (inode, mtime, size); None if absent.

    One ``os.stat``: cheap enough to check on every request.
    """
    try:
        status = os.stat(pointer)
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)
