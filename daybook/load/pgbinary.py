"""PostgreSQL binary COPY rows from Arrow batches, built column-wise (no Python per row).

Text COPY makes the server parse every timestamp and number from text; the
binary format hands it the values. Each field becomes a binary Arrow array
(4-byte big-endian length, then the value in network order), and Arrow's
element-wise join glues a row's fields together; the joined array's data
buffer is then exactly the COPY tuples. Only the raw tables' types are
needed: text, timestamp (without zone), double, and the stage's integer file tag.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01


def encode_batch(batch: pa.RecordBatch) -> bytes | memoryview:
    """One batch as binary COPY tuples (without the stream header and trailer)."""
    n = batch.num_rows
    if n == 0:
        return b""
    field_count = _fixed(np.full(n, batch.num_columns, dtype=">i2").view(np.uint8).reshape(n, 2))
    fields = [field_count, *(_field(batch.column(i)) for i in range(batch.num_columns))]
    rows = pc.binary_join_element_wise(*fields, pa.scalar(b"", pa.binary()))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset : rows.offset + n + 1]
    start, stop = int(offsets[0]), int(offsets[-1])
    return memoryview(rows.buffers()[2].slice(start, stop - start))


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
