"""``api.per_version.PerVersion``: one read per data version however many requests ask at
once, a failed read retried, and only the newest versions kept."""

from __future__ import annotations

import threading
import time

import pytest

from api.per_version import PerVersion


def test_concurrent_requests_on_a_new_version_share_one_read() -> None:
    cache: PerVersion[str] = PerVersion(kept=1)
    reads: list[str] = []
    start = threading.Barrier(8)

    def read() -> str:
        reads.append("read")
        time.sleep(0.05)  # long enough for the other threads to arrive while it reads
        return "ids at v1"

    answers: list[str | None] = []

    def request() -> None:
        start.wait()
        answers.append(cache.get("v1", read))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["ids at v1"] * 8
    assert len(reads) == 1


def test_a_failed_read_is_not_kept_and_old_versions_are_dropped() -> None:
    cache: PerVersion[int] = PerVersion(kept=2)
    reads: list[str] = []

    def read(version: str, value: int | None):
        def reader() -> int | None:
            reads.append(version)
            return value

        return reader

    assert cache.get("v1", read("v1", None)) is None
    assert cache.get("v1", read("v1", 1)) == 1, "read again after a failure"
    assert cache.get("v2", read("v2", 2)) == 2
    assert cache.get("v1", read("v1", 10)) == 1, "two versions kept"
    assert cache.get("v3", read("v3", 3)) == 3
    assert cache.get("v1", read("v1", 100)) == 100, "the oldest was dropped, so read again"
    assert reads == ["v1", "v1", "v2", "v3", "v1"]


def test_keeping_no_version_is_refused() -> None:
    with pytest.raises(ValueError, match="kept must be at least 1"):
        PerVersion(kept=0)
