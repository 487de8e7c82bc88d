"""``write_json_atomically``: readers of the serving pointer, the refresh state and the
views record see the old contents or the new ones, never part of a write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daybook.atomic_json import write_json_atomically


def test_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "record.json"  # the folder does not exist yet
    write_json_atomically(path, {"version": 1})
    write_json_atomically(path, {"version": 2, "names": ["a", "b"]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 2, "names": ["a", "b"]}
    assert [entry.name for entry in path.parent.iterdir()] == ["record.json"]


def test_a_failed_write_keeps_the_old_contents(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    write_json_atomically(path, {"version": 1})
    with pytest.raises(TypeError):
        write_json_atomically(path, {"version": 2, "when": object()})  # not JSON
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1}
    assert [entry.name for entry in tmp_path.iterdir()] == ["record.json"]
