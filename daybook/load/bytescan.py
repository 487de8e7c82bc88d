"""A CSV file's bytes checked before DuckDB reads them: UTF-8 only, no NUL byte.

Why a separate pass: DuckDB's CSV reader does not reliably refuse bytes that
are not UTF-8 (a Latin-1 ``é`` can load, or stop the reader with an internal
error that invalidates the whole DuckDB instance), and it loads a NUL byte
that PostgreSQL then refuses without naming a row. The pass streams the file
in large blocks cut at line ends; an all-ASCII block without NUL (the usual
case) costs one ``isascii`` and one ``memchr``, so the pass is far cheaper
than the load. A bad byte is reported with its physical line and the column
(field) that holds it.

``first_mixed_line_end`` explains one more refusal after DuckDB's reader
failed: a file whose lines end in CRLF and LF both, which DuckDB reports only as
"the CSV Parser state machine reached an invalid state".
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from daybook.load.errors import LoadError

_BLOCK = 1 << 24


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzipped (``.gz``)."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")  # the caller closes it


def _pieces(handle: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """The stream in large pieces of whole lines, each with the count of lines before it."""
    lines_before = 0
    carry = b""
    while True:
        block = handle.read(_BLOCK)
        data = carry + block
        if not block:
            yield data, lines_before
            return
        cut = data.rfind(b"\n") + 1
        if cut == 0:  # one very long line: keep reading
            carry = data
            continue
        piece, carry = data[:cut], data[cut:]
        yield piece, lines_before
        lines_before += piece.count(b"\n")


def check_csv_bytes(path: Path, columns: tuple[str, ...]) -> None:
    """Refuse a CSV file holding a NUL byte or bytes that are not UTF-8, naming line and column."""
    try:
        with open_binary(path) as handle:
            for piece, lines_before in _pieces(handle):
                _check_piece(path, columns, piece, lines_before)
    except (OSError, EOFError, zlib.error) as error:
        raise LoadError(f"{path}: cannot read the file ({error})") from None


def _check_piece(path: Path, columns: tuple[str, ...], piece: bytes, lines_before: int) -> None:
    """Check whole lines; ``lines_before`` lines of the file came before ``piece``."""
    nul = piece.find(b"\x00")
    bad_utf8 = -1
    if not piece.isascii():
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError as error:
            bad_utf8 = error.start
    found = [position for position in (nul, bad_utf8) if position >= 0]
    if not found:
        return
    position = min(found)
    line_start = piece.rfind(b"\n", 0, position) + 1
    line = lines_before + piece.count(b"\n", 0, position) + 1
    column = _column_at(piece[line_start:position], columns, line)
    where = f"line {line}" + (f", column {column}" if column else "")
    if position == nul:
        reason = "holds a NUL byte (0x00), which no text column may contain"
    else:
        reason = (
            f"byte 0x{piece[position]:02x} is not UTF-8 (the file must be UTF-8 encoded; "
            "re-save it as UTF-8)"
        )
    raise LoadError(f"{path}: {where}: {reason}")


def _column_at(prefix: bytes, columns: tuple[str, ...], line: int) -> str | None:
    """The header name of the field in which ``prefix`` (the line up to the bad byte) ends."""
    if line == 1:
        return None
    # Latin-1 maps every byte to one character, so delimiters and quotes stay where they are
    fields = next(csv.reader([prefix.decode("latin-1")]), [""])
    index = max(len(fields), 1) - 1
    return columns[index] if index < len(columns) else None


_ENDINGS = {True: "CRLF (\\r\\n)", False: "LF (\\n)"}


def first_mixed_line_end(path: Path) -> tuple[int, str, str] | None:
    """The first line ending unlike the file's first line, outside quoted fields.

    Returns (its line number, its ending, the first line's ending), or None. A
    quote character toggles "inside a field" (an escaped quote ``""`` toggles
    twice), so a line break inside a quoted value is data, not a line end.
    """
    inside = 0  # quotes seen so far, modulo 2
    first: bool | None = None
    try:
        with open_binary(path) as handle:
            for piece, lines_before in _pieces(handle):
                data = np.frombuffer(piece, dtype=np.uint8)
                quotes = np.cumsum(data == ord('"'), dtype=np.uint8) + np.uint8(inside)
                breaks = np.flatnonzero(data == ord("\n"))
                ends = breaks[(quotes[breaks] & 1) == 0]
                if ends.size:
                    crlf = np.zeros(ends.size, dtype=bool)
                    crlf[ends > 0] = data[ends[ends > 0] - 1] == ord("\r")
                    if first is None:
                        first = bool(crlf[0])
                    unlike = np.flatnonzero(crlf != first)
                    if unlike.size:
                        position = int(ends[unlike[0]])
                        line = lines_before + piece.count(b"\n", 0, position) + 1
                        return line, _ENDINGS[not first], _ENDINGS[first]
                if data.size:
                    inside = int(quotes[-1] & 1)
    except (OSError, EOFError, zlib.error):
        return None
    return None
