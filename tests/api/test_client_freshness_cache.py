"""``api.client_freshness``: each client's time read once per data version, a failed read
retried on the next request (not kept for the whole version), upper-case path ids found."""

from __future__ import annotations

from datetime import UTC, datetime

from api.client_freshness import ClientFreshness
from daybook.semantic.loader import load_registry

A, B = "0a0a0a0a-0000-4000-8000-00000000000a", "0b0b0b0b-0000-4000-8000-00000000000b"
NOON = datetime(2026, 3, 3, 12, 0)


class FakeReader:
    """Answers the freshness query with ``rows``, failing the next ``failures`` reads."""

    dialect = "duckdb"

    def __init__(self, rows: list[tuple]) -> None:
        self.rows, self.failures, self.reads = rows, 0, 0

    def fetch_all(self, sql: str, parameters) -> list[tuple]:
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("pool timeout")
        if parameters:  # the one-client query (no data version)
            return [row for row in self.rows if row[0] == parameters[0]]
        return list(self.rows)


def test_one_read_per_version_and_a_failed_read_is_not_kept() -> None:
    freshness = ClientFreshness(load_registry(check_manifest=False), "duckdb")
    reader = FakeReader([(A, NOON), (B, None)])
    reader.failures = 1
    assert freshness.newest(reader, "v1", A) is None, "the read failed: no header"
    assert freshness.newest(reader, "v1", A) == NOON.replace(tzinfo=UTC), "read again"
    assert freshness.newest(reader, "v1", A.upper()) == NOON.replace(tzinfo=UTC)
    assert freshness.newest(reader, "v1", B) is None
    assert reader.reads == 2, "one failed read, then one read for the version"

    reader.rows = [(A, NOON.replace(hour=13))]
    assert freshness.newest(reader, "v2", A) == NOON.replace(hour=13, tzinfo=UTC)
    assert freshness.newest(reader, "v1", A) == NOON.replace(tzinfo=UTC), "v1 is still kept"
    assert reader.reads == 3
    assert freshness.newest(reader, None, A) == NOON.replace(hour=13, tzinfo=UTC)
    assert reader.reads == 4, "without a version, every header reads its own row"
