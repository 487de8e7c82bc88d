"""PostgreSQL binary COPY rows from Arrow batches, built column-wise (no Python per row).

Text COPY makes the server parse every timestamp and number from text; the
binary format hands it the values. Only the raw tables' types are needed:
text, timestamp (without zone), double, and the stage's integer tags.

Two encoders give the same tuples. The fast one serves the usual batch, where
every text column's values have one length (ids are canonical UUIDs): each
row is then a fixed-width record, so the batch is one (rows x width) byte
matrix filled a column slice at a time by numpy; rows holding a null (its
field is 4 bytes, the length -1, with no value) are cut out of the matrix
with a mask and sent after the others, when they are at most 1% of the
batch (COPY row order carries no meaning: heartbeats have none, entity rows
carry their file position). It takes about a quarter of the CPU of the
general encoder, which handles any lengths: each field becomes a binary
Arrow array (4-byte big-endian length, then the value in network order),
and Arrow's element-wise join glues a row's fields together; the joined
array's data buffer is then exactly the COPY tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01


def encode_batch(batch: pa.RecordBatch) -> list[memoryview]:
    """One batch as binary COPY tuples (without the stream header and trailer), in pieces."""
    n = batch.num_rows
    if n == 0:
        return []
    fixed = _encode_fixed_width(batch)
    if fixed is not None:
        return fixed
    field_count = _fixed(np.full(n, batch.num_columns, dtype=">i2").view(np.uint8).reshape(n, 2))
    fields = [field_count, *(_field(batch.column(i)) for i in range(batch.num_columns))]
    rows = pc.binary_join_element_wise(*fields, pa.scalar(b"", pa.binary()))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + n + 1]
    start, stop = int(offsets[0]), int(offsets[-1])
    return [memoryview(rows.buffers()[2].slice(start, stop - start))]


@dataclass(frozen=True)
class _Column:
    """One column of a fixed-width batch: the size of its values and the values, one a row."""

    size: int
    values: np.ndarray | None  # one void item of ``size`` bytes per row (a null's is any)
    valid: np.ndarray | None  # None: no null


# at most this share of a batch's rows may hold a null for the fixed-width encoder: each
# one cuts the matrix into one more piece
_NULL_ROWS_SHARE = 0.01
# rows written per block (2 MB of tuples); measured: 2,048 or 4,096 cost 3 times the CPU
# of 8,192 (numpy's per-call cost for strided void copies), a whole batch 1.5 times
_BLOCK_ROWS = 8192


def _encode_fixed_width(batch: pa.RecordBatch) -> list[memoryview] | None:
    """The batch's tuples when every text column's values share one length, else None.

    Each field is written through a strided view of the matrix typed like the
    field (``>i4`` lengths, ``V<size>`` values), so numpy copies whole values.
    """
    n = batch.num_rows
    columns = []
    for index in range(batch.num_columns):
        column = _fixed_column(batch.column(index))
        if column is None:
            return None
        columns.append(column)
    width = 2 + sum(4 + column.size for column in columns)
    has_null = np.zeros(n, dtype=bool)
    for column in columns:
        if column.valid is not None:
            has_null |= ~column.valid
    null_rows = np.flatnonzero(has_null)
    if len(null_rows) > n * _NULL_ROWS_SHARE:
        return None
    matrix = np.empty(n * width, dtype=np.uint8)
    _fill(matrix, width, columns, batch.num_columns)
    if not len(null_rows):
        return [memoryview(matrix)]
    rows = matrix.reshape(n, width)
    pieces, start = [], 0
    for row in null_rows.tolist():  # the clean rows between nulls, as they are
        if row > start:
            pieces.append(memoryview(matrix[start * width : row * width]))
        start = row + 1
    if start < n:
        pieces.append(memoryview(matrix[start * width :]))
    keep = np.ones((len(null_rows), width), dtype=bool)
    position = 2
    for column in columns:
        if column.valid is not None:
            keep[~column.valid[null_rows], position + 4 : position + 4 + column.size] = False
        position += 4 + column.size
    pieces.append(memoryview(rows[null_rows][keep]))
    return pieces


def _fill(matrix: np.ndarray, width: int, columns: list[_Column], count: int) -> None:
    """Write every tuple into ``matrix`` (``width`` bytes a row), a block of rows at a time.

    A block stays in the CPU cache while all of its fields are written (a
    field at a time over the whole matrix reads and writes it 25 times).
    """
    n = len(matrix) // width

    def field(dtype: str, position: int) -> np.ndarray:
        return np.ndarray((n,), dtype=dtype, buffer=matrix, offset=position, strides=(width,))

    counts = field(">i2", 0)
    views, position = [], 2
    for column in columns:
        values = None if column.values is None else field(f"V{column.size}", position + 4)
        views.append((field(">i4", position), values))
        position += 4 + column.size
    for first in range(0, n, _BLOCK_ROWS):
        stop = min(first + _BLOCK_ROWS, n)
        counts[first:stop] = count
        for column, (lengths, values) in zip(columns, views, strict=True):
            lengths[first:stop] = column.size
            if values is not None and column.values is not None:
                values[first:stop] = column.values[first:stop]
            if column.valid is not None:
                lengths[first:stop][~column.valid[first:stop]] = -1  # NULL: no value follows


def _fixed_column(array: pa.Array) -> _Column | None:
    """A column's values as fixed-size items, or None when its values differ in length."""
    n = len(array)
    kind = array.type
    valid = None if array.null_count == 0 else array.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_int32(kind):
        if valid is not None:
            return None
        return _Column(4, array.to_numpy().astype(">i4").view("V4"), None)
    if pa.types.is_timestamp(kind):
        values = array.cast(pa.timestamp("us")).cast(pa.int64()).fill_null(0).to_numpy()
        return _Column(8, (values - _PG_EPOCH_US).astype(">i8").view("V8"), valid)
    if pa.types.is_floating(kind):
        values = array.cast(pa.float64()).fill_null(0.0).to_numpy()
        return _Column(8, values.astype(">f8").view("V8"), valid)
    if getattr(pa.types, "is_string_view", lambda _: False)(kind):
        array, kind = array.cast(pa.string()), pa.string()
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    offset_type = np.int64 if pa.types.is_large_string(kind) else np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[array.offset : array.offset + n + 1]
    lengths = np.diff(offsets)
    present = lengths if valid is None else lengths[valid]
    size = int(present[0]) if len(present) else 0
    if (present != size).any() or (valid is not None and lengths[~valid].any()):
        return None
    if size == 0:
        return _Column(0, None, valid)
    data = np.frombuffer(buffers[2], dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    values = data.view(f"V{size}")
    if valid is not None:  # nulls hold no bytes in Arrow: spread the values over the rows
        values = np.zeros(n, dtype=f"V{size}")
        values[valid] = data.view(f"V{size}")
    return _Column(size, values, valid)


def _field(array: pa.Array) -> pa.Array:
    """One column as binary fields: length prefix (-1 for null) and network-order value."""
    n = len(array)
    valid = (
        np.ones(n, dtype=bool)
        if array.null_count == 0
        else array.is_valid().to_numpy(zero_copy_only=False)
    )
    kind = array.type
    if getattr(pa.types, "is_string_view", lambda _: False)(kind):
        array, kind = array.cast(pa.string()), pa.string()
    if pa.types.is_int32(kind):
        raw = array.fill_null(0).to_numpy().astype(">i4")
        matrix = np.empty((n, 8), dtype=np.uint8)
        matrix[:, :4] = np.frombuffer((4).to_bytes(4, "big"), dtype=np.uint8)
        matrix[:, 4:] = raw.view(np.uint8).reshape(n, 4)
        if not valid.all():
            raise TypeError("binary COPY of a null integer is not needed here")
        return _fixed(matrix)
    if pa.types.is_timestamp(kind) or pa.types.is_floating(kind):
        if pa.types.is_timestamp(kind):
            values = array.cast(pa.timestamp("us")).cast(pa.int64()).fill_null(0).to_numpy()
            raw = (values - _PG_EPOCH_US).astype(">i8")
        else:
            raw = array.cast(pa.float64()).fill_null(0.0).to_numpy().astype(">f8")
        matrix = np.empty((n, 12), dtype=np.uint8)
        matrix[:, :4] = np.frombuffer((8).to_bytes(4, "big"), dtype=np.uint8)
        matrix[:, 4:] = raw.view(np.uint8).reshape(n, 8)
        if valid.all():
            return _fixed(matrix)
        matrix[~valid, :4] = 0xFF
        sizes = np.where(valid, 12, 4).astype(np.int32)
        keep = np.arange(12)[None, :] < sizes[:, None]
        return _variable(matrix[keep], sizes)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lengths = pc.binary_length(array).fill_null(-1).to_numpy(zero_copy_only=False)
        prefix = _fixed(lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        values = array.cast(pa.binary()).fill_null(b"")
        return pc.binary_join_element_wise(prefix, values, pa.scalar(b"", pa.binary()))
    raise TypeError(f"binary COPY does not handle Arrow type {kind}")


def _fixed(matrix: np.ndarray) -> pa.Array:
    """Rows of an (n, width) uint8 matrix as a binary array."""
    n, width = matrix.shape
    return _variable(np.ascontiguousarray(matrix).ravel(), np.full(n, width, dtype=np.int32))


def _variable(data: np.ndarray, sizes: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.binary(), len(sizes), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
