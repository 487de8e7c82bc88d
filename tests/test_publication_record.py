"""Which serving targets hold the last build (``daybook.publication_record``), with stand-in
publishers: a publish that failed after its build, a target emptied since, a build that
finished while another publish ran, a target that missed a build, PostgreSQL in place.

The end-to-end switch of ``DAYBOOK_SERVING_URL`` on every backend, against the reference,
is ``tests/refresh/test_serving_target_switch.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from daybook import pipeline
from daybook.config import Warehouse, parse_database_url
from daybook.publication_record import holds_last_build, note_build, note_published
from daybook.publishers import InPlacePublisher, Publication


@dataclass
class StandIn:
    """A publisher of a target that can fail once and be emptied."""

    target: str
    in_place: bool = False
    fail_next: bool = False
    holds_something: bool = False
    given: list[Any] = field(default_factory=list)  # the ``built`` of each publish

    def publish(self, warehouse: Warehouse, built: Any = None) -> Publication:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the store is down")
        self.given.append(built)
        self.holds_something = True
        return Publication(f"published to {self.target}")

    def serves(self, warehouse: Warehouse) -> bool:
        return self.holds_something

    def describe(self, warehouse: Warehouse) -> str:
        return self.target


def succeeded(warehouse: Warehouse) -> Any:
    return SimpleNamespace(success=True)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return parse_database_url(f"duckdb://{tmp_path / 'warehouse.duckdb'}")


def use(monkeypatch: pytest.MonkeyPatch, publisher: StandIn) -> None:
    monkeypatch.setattr(pipeline, "publisher_for", lambda warehouse: publisher)


def test_a_publish_that_failed_after_its_build_is_made_by_the_next_refresh(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StandIn("store a", fail_next=True)
    use(monkeypatch, store)
    with pytest.raises(RuntimeError):
        pipeline.build_and_publish(warehouse, build=succeeded)
    assert pipeline.publish_if_behind(warehouse) is not None and len(store.given) == 1
    assert pipeline.publish_if_behind(warehouse) is None  # it holds the last build now


def test_a_target_emptied_since_is_published_again(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StandIn("store a")
    use(monkeypatch, store)
    pipeline.build_and_publish(warehouse, build=succeeded)
    store.holds_something = False  # its snapshots deleted, its database recreated
    assert pipeline.publish_if_behind(warehouse) is not None and len(store.given) == 2
    assert "not the last build" not in pipeline.ensure_published(warehouse)


def test_a_publish_counts_only_for_the_build_it_started_from(warehouse: Warehouse) -> None:
    started_from = note_build(warehouse)
    note_build(warehouse)  # another process's build finished meanwhile
    note_published(warehouse, "store a", started_from)
    assert holds_last_build(warehouse, "store a") is False


def test_a_target_that_missed_a_build_gets_every_table(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build hands its result to the publisher (which then copies the tables it rewrote)
    only when the target held the build before it."""
    first, second = StandIn("store a"), StandIn("store b")
    use(monkeypatch, first)
    pipeline.build_and_publish(warehouse, build=succeeded)
    pipeline.build_and_publish(warehouse, build=succeeded)
    assert first.given[-1] is not None  # it held the build before: changes only
    use(monkeypatch, second)
    pipeline.build_and_publish(warehouse, build=succeeded)
    use(monkeypatch, first)
    assert "not the last build" in pipeline.ensure_published(warehouse)
    pipeline.build_and_publish(warehouse, build=succeeded)
    assert first.given[-1] is None  # it missed one: every table


def test_tables_the_api_reads_in_place_never_lag(warehouse: Warehouse) -> None:
    note_build(warehouse)
    note_published(warehouse, "store a", note_build(warehouse))
    assert not pipeline.behind(warehouse, InPlacePublisher())
