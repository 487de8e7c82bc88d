"""Where a CSV file's line endings change, read outside quoted values, across read blocks."""

from __future__ import annotations

import gzip

import pytest

from daybook.load import bytescan


@pytest.fixture(params=[1 << 24, 5], ids=["one block", "blocks of 5 bytes"])
def block(request, monkeypatch) -> int:
    monkeypatch.setattr(bytescan, "_BLOCK", request.param)
    return request.param


def _first_unlike(text: str) -> int | None:
    """Independent: split lines outside quotes by hand and compare each ending with the first."""
    endings, inside, line, position = [], False, 1, 0
    for position, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char == "\n":
            if not inside:
                endings.append((line, position > 0 and text[position - 1] == "\r"))
            line += 1
    return next((number for number, crlf in endings if crlf != endings[0][1]), None)


@pytest.mark.parametrize(
    "text",
    [
        'a,b\r\n1,"x\ny"\r\n2,"p""\r\nq"\r\n',  # line breaks inside quotes are data
        "a,b\n1,2\n3,4\n",
        "a,b\r\n1,2\r\n3,4\n5,6\r\n",
        'a,b\n1,"x\r\ny"\n2,3\r\n',
        'a,b\r\n1,"""quoted"""\r\n2,""\n',
    ],
)
@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_the_first_unlike_line_end_is_found(tmp_path, block, text, gzipped):
    path = tmp_path / ("f.csv.gz" if gzipped else "f.csv")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    found = bytescan.first_mixed_line_end(path)
    expected = _first_unlike(text)
    assert (found[0] if found else None) == expected
    if found:
        first_is_crlf = text.split("\n", 1)[0].endswith("\r")
        assert found[1:] == (
            ("LF (\\n)", "CRLF (\\r\\n)") if first_is_crlf else ("CRLF (\\r\\n)", "LF (\\n)")
        )
