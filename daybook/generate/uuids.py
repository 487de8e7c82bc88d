"""Vectorised, seeded UUID strings.

Python's ``uuid.uuid4()`` is a call per row; a 100-million-row dataset needs
ids built as one numpy byte matrix and handed to Arrow without a Python
string per row, and they must be reproducible for a seed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX = b"0123456789abcdef"
# byte value -> its two lowercase hex digits, as one little-endian uint16
_PAIRS = np.array([_HEX[b >> 4] | (_HEX[b & 0x0F] << 8) for b in range(256)], dtype="<u2")
# where the 32 hex digits go inside the 36-character canonical form
_SPANS = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))


def uuid_chars(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUIDs as an ``(n, 36)`` uint8 matrix of lowercase ASCII."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = _PAIRS[raw].view(np.uint8)  # (n, 32)
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    for start, stop, source in _SPANS:
        out[:, start:stop] = digits[:, source : source + (stop - start)]
    return out


def chars_to_arrow(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """Arrow strings over the ``(n, width)`` matrix, zero-copy; ``valid`` marks non-nulls."""
    n, width = chars.shape
    chars = np.ascontiguousarray(chars)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = None
    null_count = 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int(n - valid.sum())
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars), bitmap, null_count
    )


def uuid_strings(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random UUIDs as Python strings (for the small entity tables)."""
    return chars_to_arrow(uuid_chars(rng, n)).to_pylist()
