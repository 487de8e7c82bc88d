"""The binary COPY encoder against a plain-Python decoder of PostgreSQL's binary COPY format.

Both encoders (the fixed-width one for batches whose text values share a
length, and the general one) must produce exactly the batch's rows: decoded
with ``struct`` here, independently of the numpy code, and compared as a
multiset (COPY row order carries no meaning). PostgreSQL itself reads the
tuples in the load tests.
"""

from __future__ import annotations

import struct
from collections import Counter
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from daybook.load import pgbinary

_PG_EPOCH = datetime(2000, 1, 1)


def _decode(data: bytes, kinds: list[str]) -> list[tuple]:
    """Rows of binary COPY tuples; ``kinds``: 'text', 'timestamp', 'double' or 'int' per field."""
    rows, at = [], 0
    while at < len(data):
        (count,) = struct.unpack_from(">h", data, at)
        at += 2
        assert count == len(kinds)
        row = []
        for kind in kinds:
            (size,) = struct.unpack_from(">i", data, at)
            at += 4
            if size == -1:
                row.append(None)
                continue
            raw = data[at : at + size]
            at += size
            if kind == "text":
                row.append(raw.decode("utf-8"))
            elif kind == "timestamp":
                row.append(_PG_EPOCH + timedelta(microseconds=struct.unpack(">q", raw)[0]))
            elif kind == "double":
                row.append(struct.unpack(">d", raw)[0])
            else:
                row.append(struct.unpack(">i", raw)[0])
        rows.append(tuple(row))
    return rows


def _encoded(pieces: list) -> bytes:
    return b"".join(bytes(piece) for piece in pieces)


def _batch(ids: list, stamps: list, counts: list, tags: list[int]) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array(ids, pa.string()),
            pa.array(stamps, pa.timestamp("us")),
            pa.array(counts, pa.float64()),
            pa.array(tags, pa.int32()),
        ],
        names=["id", "at", "count", "tag"],
    )


KINDS = ["text", "timestamp", "double", "int"]
STAMP = datetime(2026, 1, 2, 3, 4, 5, 678901)

CASES = {
    "fixed width, no null": (
        ["a" * 36, "b" * 36, "c" * 36],
        [STAMP, datetime(1999, 12, 31, 23, 59, 59), datetime(2000, 1, 1)],
        [0.0, 2.5, 2_147_483_647.0],
        [0, 1, 2],
    ),
    "fixed width with nulls in every nullable column": (
        ["0123", None, "4567", "89ab", None],
        [STAMP, STAMP, None, datetime(2030, 6, 1), None],
        [1.0, None, -1.0, 3.0, None],
        [5, 6, 7, 8, 9],
    ),
    "text of several lengths (general encoder)": (
        ["x", "", None, "éé-ünïcode", "a" * 300],
        [STAMP, None, STAMP, STAMP, STAMP],
        [1.0, 2.0, None, 4.0, 5.0],
        [1, 2, 3, 4, 5],
    ),
    "all text null": ([None, None], [STAMP, STAMP], [1.0, 2.0], [0, 0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_encoded_tuples_are_the_rows(name: str) -> None:
    ids, stamps, counts, tags = CASES[name]
    expected = Counter(zip(ids, stamps, counts, tags, strict=True))
    encoded = _encoded(pgbinary.encode_batch(_batch(ids, stamps, counts, tags)))
    assert Counter(_decode(encoded, KINDS)) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_slices_of_a_batch_encode_their_own_rows(name: str) -> None:
    """Arrow slices (non-zero offsets) as DuckDB's record batches can be."""
    ids, stamps, counts, tags = CASES[name]
    batch = _batch(ids, stamps, counts, tags).slice(1)
    expected = Counter(list(zip(ids, stamps, counts, tags, strict=True))[1:])
    assert Counter(_decode(_encoded(pgbinary.encode_batch(batch)), KINDS)) == expected


def _rows_with_nulls_at(count: int, null_at: set[int]) -> tuple[list, list, list, list]:
    """``count`` fixed-width rows; rows in ``null_at`` hold a null (which column varies)."""
    ids, stamps, counts = [], [], []
    for index in range(count):
        column = index % 3 if index in null_at else -1
        ids.append(None if column == 0 else f"{index:036d}")
        stamps.append(None if column == 1 else STAMP + timedelta(seconds=index))
        counts.append(None if column == 2 else float(index))
    return ids, stamps, counts, list(range(count))


@pytest.mark.parametrize(
    "null_at",
    [set(), {0}, {999}, {0, 1, 2, 500, 998, 999}, set(range(0, 1000, 3))],
    ids=["none", "first row", "last row", "runs at both ends", "every third row"],
)
def test_fixed_and_general_encoders_agree(null_at: set[int]) -> None:
    """The same rows through both encoders (a row of another length makes a batch general)."""
    ids, stamps, counts, tags = _rows_with_nulls_at(1000, null_at)
    expected = Counter(zip(ids, stamps, counts, tags, strict=True))
    fixed = _decode(_encoded(pgbinary.encode_batch(_batch(ids, stamps, counts, tags))), KINDS)
    other = _batch([*ids, "short"], [*stamps, STAMP], [*counts, 0.0], [*tags, 0])
    assert pgbinary._encode_fixed_width(other) is None
    general = _decode(_encoded(pgbinary.encode_batch(other)), KINDS)
    assert Counter(fixed) == expected
    assert Counter(general) == expected + Counter([("short", STAMP, 0.0, 0)])


@pytest.mark.parametrize(
    ("null_at", "fixed"),
    [(set(), True), ({0, 1, 2, 500, 998, 999}, True), (set(range(0, 1000, 3)), False)],
    ids=["no null", "few nulls", "many nulls"],
)
def test_fixed_width_encoder_takes_batches_of_one_length_and_few_nulls(
    null_at: set[int], fixed: bool
) -> None:
    """Fast path: every text value of one length and at most 1% of rows holding a null."""
    ids, stamps, counts, tags = _rows_with_nulls_at(1000, null_at)
    assert (pgbinary._encode_fixed_width(_batch(ids, stamps, counts, tags)) is not None) == fixed
    ids[5] = "short"
    assert pgbinary._encode_fixed_width(_batch(ids, stamps, counts, tags)) is None


def test_empty_batch_has_no_tuples() -> None:
    assert _encoded(pgbinary.encode_batch(_batch([], [], [], []))) == b""
