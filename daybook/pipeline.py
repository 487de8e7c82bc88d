"""Build, then publish to whatever serves: the one path from raw data to the API.

``daybook build``, each ``daybook refresh`` cycle, ``daybook demo`` and the benchmark
all call :func:`build_and_publish`; ``daybook serve`` calls :func:`ensure_published` (in a
child process: ``python -m daybook.pipeline ensure URL``) on every backend.
A failed build publishes nothing, so the API keeps serving the previous data. Which
store is published to, and how, is the :class:`~daybook.publishers.Publisher` that
:func:`~daybook.publishers.publisher_for` chooses: with ``DAYBOOK_SERVING_URL`` set, the
separate serving store (``daybook.serving.store``), the same for every command, since
they all come through here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from daybook.build.results import Built
from daybook.build.run import run_build
from daybook.config import Warehouse, parse_database_url
from daybook.publication_record import (
    holds_last_build,
    last_build,
    note_build,
    note_published,
)
from daybook.publishers import Publication, Publisher, publisher_for


@dataclass(frozen=True)
class Outcome:
    """One build and what it published, with the time each step took."""

    build: Built  # the build's result (a BuildResult)
    publication: Publication | None
    build_seconds: float
    publish_seconds: float | None  # None: nothing was published (a failed build, or in place)

    @property
    def success(self) -> bool:
        return bool(self.build.success)


def build_and_publish(
    warehouse: Warehouse,
    *,
    build: Callable[[Warehouse], Built] = run_build,
    on_built: Callable[[Built], None] | None = None,
    publisher: Publisher | None = None,
) -> Outcome:
    """Run ``build`` on ``warehouse``; when it succeeds, publish the result to the API.

    ``build`` defaults to ``dbt build`` (:func:`~daybook.build.run.run_build`); a
    refresh passes ``run_models``. ``on_built`` sees the build's result before anything
    is published (a command prints it there); raising in it publishes nothing.
    ``publish_seconds`` is None when nothing needed publishing (PostgreSQL).
    """
    publisher = publisher or publisher_for(warehouse)  # a bad serving URL fails before building
    started = time.perf_counter()
    result = build(warehouse)
    built = time.perf_counter()
    if on_built is not None:
        on_built(result)
    if not result.success:
        return Outcome(result, None, built - started, None)
    # the build's own tables alone, unless the target missed a build before this one
    held_previous = holds_last_build(warehouse, publisher.target) is not False
    build_id = note_build(warehouse)
    publishing = time.perf_counter()
    publication = publisher.publish(warehouse, result if held_previous else None)
    note_published(warehouse, publisher.target, build_id)
    seconds = time.perf_counter() - publishing if publication is not None else None
    return Outcome(result, publication, built - started, seconds)


def publish(warehouse: Warehouse) -> Publication | None:
    """Publish what the warehouse holds now, without building (the last build's marts)."""
    publisher = publisher_for(warehouse)
    build_id = last_build(warehouse)
    publication = publisher.publish(warehouse)
    note_published(warehouse, publisher.target, build_id)
    return publication


def lacks_last_build(warehouse: Warehouse, publisher: Publisher) -> bool:
    """Whether the record says the publisher's target lacks the last build: another target
    got it (``DAYBOOK_SERVING_URL`` changed between commands), or its publish failed. A
    target the build writes itself (PostgreSQL's tables) never lags."""
    return not publisher.in_place and holds_last_build(warehouse, publisher.target) is False


def behind(warehouse: Warehouse, publisher: Publisher) -> bool:
    """:func:`lacks_last_build`, or nothing is there (never published, or emptied since)."""
    if publisher.in_place:
        return False
    return lacks_last_build(warehouse, publisher) or not publisher.serves(warehouse)


def publish_if_behind(warehouse: Warehouse) -> tuple[Publication | None, float] | None:
    """Publish the last build where it is missing (see :func:`behind`): the publication
    and its seconds, or None when the target holds it already (a refresh with nothing new)."""
    if not behind(warehouse, publisher_for(warehouse)):
        return None
    started = time.perf_counter()
    publication = publish(warehouse)
    return publication, time.perf_counter() - started


def ensure_published(warehouse: Warehouse) -> str:
    """Publish unless something is published already; what the API will read, for people.

    A target that serves an older build is not republished here (``daybook serve`` may
    start while a refresh holds the build): the description says so, and the next
    ``daybook refresh`` publishes there."""
    publisher = publisher_for(warehouse)
    if not publisher.serves(warehouse):
        publish(warehouse)
    described = publisher.describe(warehouse)
    if lacks_last_build(warehouse, publisher):
        described += " (not the last build: `daybook refresh` publishes it here)"
    return described


def main(argv: list[str]) -> None:
    """``python -m daybook.pipeline ensure URL``: what ``daybook serve`` runs in a child
    process, so that its own process never imports DuckDB nor opens a Spark Connect
    (gRPC) channel before gunicorn forks. Prints what is served."""
    if len(argv) != 3 or argv[1] != "ensure":
        raise SystemExit("usage: python -m daybook.pipeline ensure DATABASE_URL")
    print(ensure_published(parse_database_url(argv[2])))


if __name__ == "__main__":
    main(sys.argv)
